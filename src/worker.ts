import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities } from './activities';
import { loadConfig } from './config';
import { createDataSource } from './db/data-source';
import { createLogger } from './logger';
import { createRedis } from './redis/client';
import { redisKeys } from './redis/keys';
import { createServices } from './services';
import { admissionTaskQueue, admissionWorkflowId } from './shared/ids';
import { createWorkers } from './workers';

/**
 * Worker process: `npm run worker`. Runs every workflow and activity on TEMPORAL_TASK_QUEUE
 * and its `-reservations` and `-admission` companions, starts the admission loop if no worker
 * has yet, and drains in-flight tasks on SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'worker');
  // A stop asked for while the worker is still starting (bundling, connecting) reaches no
  // Temporal worker yet; remember it and stop as soon as start-up is done.
  let stopRequested = false;
  const requestStop = (): void => {
    stopRequested = true;
  };
  process.once('SIGINT', requestStop);
  process.once('SIGTERM', requestStop);
  Runtime.install({
    logger: {
      log: (level, message, meta) => log[level.toLowerCase() as 'info'](meta ?? {}, message),
      trace: (message, meta) => log.trace(meta ?? {}, message),
      debug: (message, meta) => log.debug(meta ?? {}, message),
      info: (message, meta) => log.info(meta ?? {}, message),
      warn: (message, meta) => log.warn(meta ?? {}, message),
      error: (message, meta) => log.error(meta ?? {}, message),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });

  const dataSource = createDataSource({ url: config.databaseUrl, poolSize: config.dbPoolSize });
  await dataSource.initialize();
  const redis = createRedis(config, 'worker');
  const connection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const nativeConnection = await NativeConnection.connect({ address: config.temporalAddress });
  const services = createServices({ config, dataSource, redis, keys: redisKeys(config.redisKeyPrefix), temporal });

  const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
  const workers = await createWorkers({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    // Bundled once and shared by every worker of the process.
    workflows: {
      workflowBundle: bundlePath
        ? { codePath: bundlePath }
        : await bundleWorkflowCode({
            workflowsPath: require.resolve('./workflows'),
            logger: Runtime.instance().logger,
          }),
    },
    activities: createActivities(services),
  });

  try {
    await temporal.workflow.start('queueAdmissionWorkflow', {
      workflowId: admissionWorkflowId(config.taskQueue),
      taskQueue: admissionTaskQueue(config.taskQueue),
      args: [{}],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }

  if (stopRequested) {
    log.info('stop requested during start-up; exiting without polling');
    await Promise.allSettled([dataSource.destroy(), redis.quit(), connection.close()]);
    process.exit(0);
  }
  // From here the Runtime's own signal handling drains the workers: each finishes its tasks in
  // flight, then run() resolves.
  log.info({ taskQueue: config.taskQueue }, 'worker running');
  await Promise.all(workers.map((worker) => worker.run()));
  log.info('worker stopped; closing connections');
  await Promise.allSettled([dataSource.destroy(), redis.quit(), connection.close(), nativeConnection.close()]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
