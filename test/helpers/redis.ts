import { Cluster } from 'ioredis';
import { createRedis } from '../../src/redis/client';
import type { RedisClient } from '../../src/redis/client';
import { redisKeys } from '../../src/redis/keys';
import type { RedisKeys } from '../../src/redis/keys';

export interface TestRedis {
  redis: RedisClient;
  keys: RedisKeys;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup(): Promise<void>;
}

export function createTestRedis(prefix: string, url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): TestRedis {
  const redis = createRedis({ redisUrl: url }, 'test');
  return {
    redis,
    keys: redisKeys(prefix),
    async cleanup() {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

/** Deletes every key under `prefix` (on every master of a cluster). */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of found) await node.del(key);
    } while (cursor !== '0');
  }
}
