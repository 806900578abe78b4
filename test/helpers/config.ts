import { randomUUID } from 'node:crypto';
import { loadConfig, toEnv } from '../../src/config';
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
export const configEnv = toEnv;
