import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import {
  ensureMariaDb,
  ensureRedis,
  ensureTestServer,
  freePort,
  startTemporalDevServer,
} from '../../scripts/provision';
import { loadConfig } from '../../src/config';
import { searchAttributeFlags } from '../../src/shared/search-attributes';
import { onClusterProfile, useClusterProfile } from './cluster-profile';

/**
 * What the setup started, for the teardown: jest runs both in its parent process, where
 * globalThis is shared (the test files run in their own contexts and never see it).
 */
export const setupState = globalThis as { __temporalDevServer?: ChildProcess; __workflowBundle?: string };

/**
 * Once per `jest` run: makes sure MariaDB and Redis answer, resolves the time-skipping test
 * server, and starts one in-memory Temporal dev server that every test file shares (each
 * file uses its own task queue, database and Redis prefix).
 */
export default async function globalSetup(): Promise<void> {
  const config = loadConfig();
  await ensureMariaDb(config.databaseUrl);
  await setServerTimeZone(config.databaseUrl, process.env.TEST_DB_TIME_ZONE ?? '+09:00');
  await ensureRedis(config.redisUrl);
  process.env.TEST_SERVER_PATH = ensureTestServer();
  if (!process.env.WORKFLOW_BUNDLE_PATH) {
    // Bundle the workflows once; every worker of the run (in-process or child) loads it.
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      logger: {
        log: () => undefined,
        trace: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: console.warn,
        error: console.error,
      },
    });
    const file = path.join(os.tmpdir(), `concert-workflows-${process.pid}.js`);
    writeFileSync(file, code);
    process.env.WORKFLOW_BUNDLE_PATH = file;
    setupState.__workflowBundle = file;
  }
  // TEST_PROFILE=cluster (npm run test:cluster): Temporal and Redis of the cluster profile.
  if (onClusterProfile()) await useClusterProfile();
  if (!process.env.TEST_TEMPORAL_ADDRESS) {
    const port = await freePort();
    const child = await startTemporalDevServer({ port, searchAttributes: searchAttributeFlags });
    setupState.__temporalDevServer = child;
    process.env.TEST_TEMPORAL_ADDRESS = `127.0.0.1:${port}`;
  }
}

/**
 * The suite runs against a server whose own clock zone is not UTC (a server in Seoul, +09:00,
 * by default; TEST_DB_TIME_ZONE=+00:00 for a UTC one): every time the service stores, compares
 * or returns must be UTC whatever the server's zone, so the tests prove it on such a server.
 */
async function setServerTimeZone(databaseUrl: string, zone: string): Promise<void> {
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: databaseUrl });
  try {
    await connection.query('SET GLOBAL time_zone = ?', [zone]);
  } finally {
    await connection.end();
  }
}
