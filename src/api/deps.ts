import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';
import type { IdentityVerifier } from '../identity';
import type { RedisKeys } from '../redis/keys';
import type { TokenService } from './tokens';

/** Everything the HTTP layer uses; built once per process by src/server.ts (or by a test). */
export interface AppDeps {
  config: Config;
  log: Logger;
  dataSource: DataSource;
  redis: Redis;
  keys: RedisKeys;
  temporal: Client;
  tokens: TokenService;
  /** Verifies identity tokens (token request, `/v1/me`). */
  identity: IdentityVerifier;
  /** Run, in order, when the process shuts down (e.g. closing pub/sub subscribers). */
  shutdownHooks: Array<() => Promise<void>>;
}
