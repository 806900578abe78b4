import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Config } from '../../src/config';
import type { RedisClient } from '../../src/redis/client';
import type { RedisKeys } from '../../src/redis/keys';
import { createServices } from '../../src/services';
import type { Services } from '../../src/services';

/** A Temporal client that fails loudly if a test that should not reach Temporal does. */
const noTemporal = new Proxy({} as Client, {
  get: (_target, property) => {
    throw new Error(`this test has no Temporal client (it used .${String(property)})`);
  },
});

/** The process's services on a test's database and Redis prefix (Temporal only when given). */
export function testServices(parts: {
  dataSource: DataSource;
  redis: RedisClient;
  keys: RedisKeys;
  config: Config;
  temporal?: Client;
}): Services {
  return createServices({ ...parts, temporal: parts.temporal ?? noTemporal });
}
