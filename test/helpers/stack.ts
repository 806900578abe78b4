import { Client, Connection } from '@temporalio/client';
import type { Config } from '../../src/config';
import { tokenFor } from './auth';
import type { TestUser } from './auth';
import { testConfig } from '../../scripts/lib/config';
import { createTestDatabase } from '../../scripts/lib/db';
import type { TestDatabase } from '../../scripts/lib/db';
import { createTestRedis } from '../../scripts/lib/redis';
import type { TestRedis } from '../../scripts/lib/redis';
import { startStack } from '../../scripts/lib/stack';
import type { Stack, StackOptions } from '../../scripts/lib/stack';

/** What `useStack` starts: a fresh database and Redis prefix, and api and worker processes on them. */
export interface UseStackOptions extends StackOptions {
  /** Connections of the file's database pool (the test process's own queries). */
  poolSize?: number;
  /**
   * Settings over `testConfig()`; a function gets the fresh database before any process starts
   * (e.g. to route the processes through a proxy).
   */
  config?: Partial<Config> | ((db: TestDatabase) => Partial<Config> | Promise<Partial<Config>>);
  /** Also open a Temporal client on the stack's namespace (closed after the file). */
  temporal?: boolean;
}

/** The running stack of a describe block; its fields throw if read before its beforeAll ran. */
export interface StackHandle {
  db: TestDatabase;
  /** A connection to the shared Redis and the key names under the file's prefix. */
  r: TestRedis;
  config: Config;
  stack: Stack;
  /** Only with `temporal: true`. */
  temporal: Client;
  /** The i-th api's base URL, round robin over the apis. */
  api(i?: number): string;
  /** A user with a queue token written straight into the stack's Redis and database (test/helpers/auth.ts). */
  newUser(options?: Parameters<typeof tokenFor>[1]): Promise<TestUser>;
}

/**
 * Registers beforeAll/afterAll in the calling describe: a fresh migrated database, a Redis
 * prefix and `apis` api and `workers` worker processes (2 and 2 by default) against the run's
 * dev server; all of it is stopped and deleted after the block.
 */
export function useStack({
  poolSize,
  config: overrides = {},
  temporal,
  ...stackOptions
}: UseStackOptions = {}): StackHandle {
  const parts: Partial<Omit<StackHandle, 'api' | 'newUser'>> = {};
  let connection: Connection | undefined;

  beforeAll(async () => {
    parts.db = await createTestDatabase(undefined, poolSize);
    const extra = typeof overrides === 'function' ? await overrides(parts.db) : overrides;
    parts.config = testConfig({ databaseUrl: parts.db.url, ...extra });
    parts.r = createTestRedis(parts.config.redisKeyPrefix);
    if (temporal) {
      connection = await Connection.connect({ address: parts.config.temporalAddress });
      parts.temporal = new Client({ connection, namespace: parts.config.temporalNamespace });
    }
    parts.stack = await startStack(parts.config, stackOptions);
  }, 180_000);
  afterAll(async () => {
    await parts.stack?.stop();
    await parts.r?.cleanup();
    await connection?.close();
    await parts.db?.drop();
  });

  const get = <K extends keyof typeof parts>(key: K): NonNullable<(typeof parts)[K]> => {
    const value = parts[key];
    if (value === undefined) throw new Error(`useStack: ${String(key)} is not available (before beforeAll?)`);
    return value;
  };
  const handle: StackHandle = {
    get db() {
      return get('db');
    },
    get r() {
      return get('r');
    },
    get config() {
      return get('config');
    },
    get stack() {
      return get('stack');
    },
    get temporal() {
      return get('temporal');
    },
    api(i = 0) {
      const { urls } = get('stack');
      return urls[i % urls.length]!;
    },
    newUser(options) {
      const { r, db, config } = handle;
      return tokenFor(
        { redis: r.redis, keys: r.keys, dataSource: db.dataSource, tokenSecret: config.tokenSecret },
        options,
      );
    },
  };
  return handle;
}
