import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import type { Express } from 'express';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import { createApp } from '../../src/api/app';
import type { AppDeps } from '../../src/api/deps';
import { TokenService } from '../../src/api/tokens';
import { SettlementNotices } from '../../src/money/settlement-notices';
import type { Config } from '../../src/config';
import { identityVerifierFor } from '../../src/identity';
import type { IdentityVerifier } from '../../src/identity';
import { createRedis } from '../../src/redis/client';
import type { RedisClient } from '../../src/redis/client';
import { redisKeys } from '../../src/redis/keys';
import { createServices } from '../../src/services';
import { createWorkers } from '../../src/workers';
import type { TestDatabase } from '../../scripts/lib/db';
import { createTestDatabase } from '../../scripts/lib/db';
import { deleteKeys } from '../../scripts/lib/redis';
import { workflowsOption } from './temporal';

export interface InProcessStack {
  app: Express;
  deps: AppDeps;
  db: TestDatabase;
  redis: RedisClient;
  temporal: Client;
  /** Stops the worker, deletes the file's Redis keys, drops its database. */
  stop(): Promise<void>;
}

/**
 * The API app and a worker in this test process, against the shared dev server, a fresh
 * database and a fresh Redis prefix: for supertest API tests. The worker polls the entry and
 * reservation task queues as src/worker.ts does (admission ticks are driven by the tests).
 */
export async function startInProcessStack(
  config: Config,
  { worker: withWorker = true, identity }: { worker?: boolean; identity?: IdentityVerifier } = {},
): Promise<InProcessStack> {
  const db = await createTestDatabase(config.databaseUrl);
  const cfg = { ...config, databaseUrl: db.url };
  const redis = createRedis(cfg, 'test-api');
  const connection = await Connection.connect({ address: cfg.temporalAddress });
  const temporal = new Client({ connection, namespace: cfg.temporalNamespace });
  const services = createServices({
    config: cfg,
    dataSource: db.dataSource,
    redis,
    keys: redisKeys(cfg.redisKeyPrefix),
    temporal,
  });
  const deps: AppDeps = {
    ...services,
    log: pino({ level: cfg.logLevel }),
    tokens: new TokenService(cfg.tokenSecret),
    identity: identity ?? identityVerifierFor(cfg),
    settlementNotices: new SettlementNotices(temporal),
    shutdownHooks: [],
  };
  const app = createApp(deps);
  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;
  if (withWorker) {
    const nativeConnection = await NativeConnection.connect({ address: cfg.temporalAddress });
    workers = await createWorkers(
      {
        connection: nativeConnection,
        namespace: cfg.temporalNamespace,
        taskQueue: cfg.taskQueue,
        workflows: workflowsOption(),
        activities: createActivities(services),
      },
      ['entries', 'reservations'],
    );
    running = Promise.all(workers.map((w) => w.run())).finally(() => nativeConnection.close());
  }
  return {
    app,
    deps,
    db,
    redis,
    temporal,
    async stop() {
      await deps.settlementNotices.drain();
      for (const hook of deps.shutdownHooks) await hook();
      for (const worker of workers) worker.shutdown();
      await running;
      await deleteKeys(redis, cfg.redisKeyPrefix);
      redis.disconnect();
      await connection.close();
      await db.drop();
    },
  };
}
