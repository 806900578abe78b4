import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config';
import type { Config } from '../../src/config';

/** Configuration for one test file: the shared services, but its own Redis prefix and task queue. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const id = randomUUID().slice(0, 8);
  return {
    ...loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' }),
    temporalAddress: process.env.TEST_TEMPORAL_ADDRESS ?? 'localhost:7233',
    redisKeyPrefix: `test:${id}:`,
    taskQueue: `test-${id}`,
    ...overrides,
  };
}

/** The environment variables that hand `config` to a child api or worker process. */
export function configEnv(config: Config): Record<string, string> {
  return {
    PORT: String(config.port),
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    REDIS_KEY_PREFIX: config.redisKeyPrefix,
    TEMPORAL_ADDRESS: config.temporalAddress,
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: config.taskQueue,
    SEAT_HOLD_SECONDS: String(config.seatHoldSeconds),
    ACTIVE_TOKEN_TTL_SECONDS: String(config.activeTokenTtlSeconds),
    QUEUE_MAX_ACTIVE: String(config.queueMaxActive),
    QUEUE_ADMIT_PER_SECOND: String(config.queueAdmitPerSecond),
    TOKEN_SECRET: config.tokenSecret,
    ADMIN_API_KEY: config.adminApiKey,
    MAX_CHARGE_AMOUNT: String(config.maxChargeAmount),
    MAX_BALANCE: String(config.maxBalance),
    LOG_LEVEL: config.logLevel,
    DB_POOL_SIZE: String(config.dbPoolSize),
  };
}
