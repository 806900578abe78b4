import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import { createApp } from '../../src/api/app';
import type { AppDeps } from '../../src/api/deps';
import { TokenService } from '../../src/api/tokens';
import type { Config } from '../../src/config';
import { createRedis } from '../../src/redis/client';
import { redisKeys } from '../../src/redis/keys';
import { reservationTaskQueue } from '../../src/shared/ids';
import type { TestDatabase } from '../../scripts/lib/db';
import { createTestDatabase } from '../../scripts/lib/db';

export interface InProcessStack {
  app: Express;
  deps: AppDeps;
  db: TestDatabase;
  redis: Redis;
  temporal: Client;
  /** Stops the worker, deletes the file's Redis keys, drops its database. */
  stop(): Promise<void>;
}

/**
 * The API app and a worker in this test process, against the shared dev server, a fresh
 * database and a fresh Redis prefix: for supertest API tests.
 */
export async function startInProcessStack(config: Config, { worker: withWorker = true } = {}): Promise<InProcessStack> {
  const db = await createTestDatabase(config.databaseUrl);
  const cfg = { ...config, databaseUrl: db.url };
  const redis = createRedis(cfg.redisUrl, 'test-api');
  const keys = redisKeys(cfg.redisKeyPrefix);
  const connection = await Connection.connect({ address: cfg.temporalAddress });
  const temporal = new Client({ connection, namespace: cfg.temporalNamespace });
  const deps: AppDeps = {
    config: cfg,
    log: pino({ level: cfg.logLevel }),
    dataSource: db.dataSource,
    redis,
    keys,
    temporal,
    tokens: new TokenService(cfg.tokenSecret),
    shutdownHooks: [],
  };
  const app = createApp(deps);
  const workers: Worker[] = [];
  let running: Promise<unknown> | undefined;
  if (withWorker) {
    const nativeConnection = await NativeConnection.connect({ address: cfg.temporalAddress });
    const activities = createActivities({ dataSource: db.dataSource, redis, keys, config: cfg, temporal });
    // Entry workflows and reservation workflows, as src/worker.ts polls them (admission ticks
    // are driven by the tests themselves).
    for (const taskQueue of [cfg.taskQueue, reservationTaskQueue(cfg.taskQueue)]) {
      workers.push(
        await Worker.create({
          connection: nativeConnection,
          taskQueue,
          ...(process.env.WORKFLOW_BUNDLE_PATH
            ? { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH } }
            : { workflowsPath: require.resolve('../../src/workflows') }),
          activities,
        }),
      );
    }
    running = Promise.all(workers.map((w) => w.run())).finally(() => nativeConnection.close());
  }
  return {
    app,
    deps,
    db,
    redis,
    temporal,
    async stop() {
      for (const hook of deps.shutdownHooks) await hook();
      for (const worker of workers) worker.shutdown();
      await running;
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${cfg.redisKeyPrefix}*`, 'COUNT', 1000);
        cursor = next;
        if (found.length) await redis.del(...found);
      } while (cursor !== '0');
      redis.disconnect();
      await connection.close();
      await db.drop();
    },
  };
}
