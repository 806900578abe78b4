import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities } from './activities';
import { loadConfig } from './config';
import { createDataSource } from './db/data-source';
import { createLogger } from './logger';
import { createRedis } from './redis/client';
import { redisKeys } from './redis/keys';
import { admissionTaskQueue, admissionWorkflowId, reservationTaskQueue } from './shared/ids';

/**
 * Worker process: `npm run worker`. Runs every workflow and activity on TEMPORAL_TASK_QUEUE
 * and its `-reservations` and `-admission` companions,
 * starts the admission loop if no worker has yet, and drains in-flight tasks on SIGINT/SIGTERM.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'worker');
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
  const redis = createRedis(config.redisUrl, 'worker');
  const connection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const nativeConnection = await NativeConnection.connect({ address: config.temporalAddress });

  const workflowBundlePath = process.env.WORKFLOW_BUNDLE_PATH;
  const workflows = workflowBundlePath
    ? { workflowBundle: { codePath: workflowBundlePath } }
    : { workflowsPath: require.resolve('./workflows') };
  const activities = createActivities({ dataSource, redis, keys: redisKeys(config.redisKeyPrefix), config, temporal });
  // Queue entries: many, mostly idle, bursty.
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    ...workflows,
    activities,
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxCachedWorkflows: 2_000,
    shutdownGraceTime: '10 seconds',
  });
  // Reservations: a user waits on each of their tasks, so they never queue behind entry tasks.
  const reservationWorker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: reservationTaskQueue(config.taskQueue),
    ...workflows,
    activities,
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxCachedWorkflows: 1_000,
    shutdownGraceTime: '10 seconds',
  });
  // The admission loop alone, on its own task queue (and workflow thread), so its ticks stay
  // about a second apart however many entry workflow tasks are queued.
  const admissionWorker = await Worker.create({
    connection: nativeConnection,
    namespace: config.temporalNamespace,
    taskQueue: admissionTaskQueue(config.taskQueue),
    ...workflows,
    activities,
    maxConcurrentActivityTaskExecutions: 4,
    maxConcurrentWorkflowTaskExecutions: 2,
    maxCachedWorkflows: 10,
    shutdownGraceTime: '10 seconds',
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

  log.info({ taskQueue: config.taskQueue }, 'worker running');
  await Promise.all([worker.run(), reservationWorker.run(), admissionWorker.run()]);
  log.info('worker stopped; closing connections');
  await Promise.allSettled([dataSource.destroy(), redis.quit(), connection.close(), nativeConnection.close()]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
