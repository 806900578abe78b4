import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../src/redis/client';
import type { DataSource } from 'typeorm';
import { TokenService } from '../../src/api/tokens';
import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';
import { signDevIdentity } from '../../src/identity';
import type { RedisKeys } from '../../src/redis/keys';
import type { QueueStatus } from '../../src/shared/types';

export interface TestUser {
  userId: string;
  tokenId: string;
  token: string;
  /** `{ Authorization: 'Bearer …' }` */
  auth: { Authorization: string };
}

/**
 * A user with a token in the given state, written straight into the queue's Redis entry (and
 * the user row into MySQL), for tests of the booking funnel that do not go through the queue.
 */
export async function tokenFor(
  deps: { redis: RedisClient; keys: RedisKeys; dataSource: DataSource; tokenSecret: string },
  {
    status = 'ACTIVE',
    userId = randomUUID(),
    activeForMs = 10 * 60_000,
    balance = 0,
  }: {
    status?: QueueStatus;
    userId?: string;
    activeForMs?: number;
    balance?: number;
  } = {},
): Promise<TestUser> {
  const tokenId = randomUUID();
  const token = await new TokenService(deps.tokenSecret).sign({ userId, tokenId });
  await deps.dataSource.query('INSERT INTO users (id, balance) VALUES (?, ?) ON DUPLICATE KEY UPDATE id = id', [
    userId,
    balance,
  ]);
  await deps.redis.hset(deps.keys.entry(userId), {
    tokenId,
    token,
    status,
    seq: '0',
    activeUntil: status === 'ACTIVE' ? String(Date.now() + activeForMs) : '',
  });
  if (status === 'ACTIVE') await deps.redis.zadd(deps.keys.active, Date.now() + activeForMs, userId);
  return { userId, tokenId, token, auth: { Authorization: `Bearer ${token}` } };
}

/**
 * `{ Authorization: 'Bearer <identity token>' }` for `userId`, as the login service would
 * issue it, for `POST /v1/queue/tokens` and `/v1/me`. Signed with the config's HS256 secret
 * (the development default unless the test configures another).
 */
export async function identityFor(
  userId: string,
  config: Pick<Config, 'authJwtSecret' | 'authIssuer' | 'authAudience'> = loadConfig(),
): Promise<{ Authorization: string }> {
  if (!config.authJwtSecret) throw new Error('identityFor needs a config with AUTH_JWT_SECRET');
  const token = await signDevIdentity({ ...config, authJwtSecret: config.authJwtSecret }, userId);
  return { Authorization: `Bearer ${token}` };
}
