import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import type { Activities } from './activities';
import { admissionTaskQueue, reservationTaskQueue } from './shared/ids';

/**
 * The task queues a worker process polls, one Temporal Worker each, and how much each may run
 * at once. Used by src/worker.ts and by the tests' in-process stacks alike.
 */
export const WORKER_TABLE = {
  /** Queue entries: many, mostly idle, bursty at admission. */
  entries: {
    taskQueue: (base: string) => base,
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxCachedWorkflows: 2_000,
  },
  /** Reservations: a user waits on each of their tasks, so they never queue behind entry tasks. */
  reservations: {
    taskQueue: reservationTaskQueue,
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 100,
    maxCachedWorkflows: 1_000,
  },
  /** The admission loop alone, so its ticks stay about a second apart whatever else is queued. */
  admission: {
    taskQueue: admissionTaskQueue,
    maxConcurrentActivityTaskExecutions: 4,
    maxConcurrentWorkflowTaskExecutions: 2,
    maxCachedWorkflows: 10,
  },
} as const;

export type WorkerName = keyof typeof WORKER_TABLE;

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  /** TEMPORAL_TASK_QUEUE; the others are derived from it. */
  taskQueue: string;
  workflows: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  activities: Activities;
}

/** One Temporal Worker per named row of {@link WORKER_TABLE}. */
export function createWorkers(
  setup: WorkerSetup,
  names: readonly WorkerName[] = ['entries', 'reservations', 'admission'],
) {
  return Promise.all(
    names.map((name) => {
      const { taskQueue, ...limits } = WORKER_TABLE[name];
      return Worker.create({
        connection: setup.connection,
        namespace: setup.namespace,
        taskQueue: taskQueue(setup.taskQueue),
        ...setup.workflows,
        activities: setup.activities,
        ...limits,
        shutdownGraceTime: '10 seconds',
      });
    }),
  );
}
