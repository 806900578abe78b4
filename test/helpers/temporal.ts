import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { holdUpdate, reservationWorkflowId } from '../../src/shared';
import type { HoldRequest } from '../../src/shared';
import { SA } from '../../src/shared/search-attributes';
import { reservationWorkflow } from '../../src/workflows';

/** temporal.api.enums.v1.IndexedValueType numbers for the types our attributes use. */
const INDEXED_VALUE_TYPE = { KEYWORD: 2, INT: 3 } as const;

/**
 * A time-skipping environment backed by the Java SDK's test server (resolved by
 * scripts/provision.ts), so workflow timers of minutes pass in milliseconds. The test
 * server knows no custom search attributes until they are registered.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const path = process.env.TEST_SERVER_PATH;
  if (!path) throw new Error('TEST_SERVER_PATH is not set; run tests through jest (test/helpers/global-setup.ts)');
  const env = await startTestServer(path);
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.values(SA).map((key) => [key.name, INDEXED_VALUE_TYPE[key.type]])),
  });
  return env;
}

/** Connects to the shared dev server started by the global setup. */
export async function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set');
  return TestWorkflowEnvironment.createFromExistingServer({ address });
}

/**
 * The SDK gives the server's JVM 5 s to listen; on a loaded machine that is sometimes too
 * short, so a start that timed out is tried again (a slow start says nothing about the code).
 */
async function startTestServer(path: string, attempts = 4): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path } },
      });
    } catch (err) {
      if (attempt >= attempts || !/did not start within/.test(String(err))) throw err;
    }
  }
}

/** The workflow code every worker of a jest run loads (bundled once by the global setup). */
export const workflowsOption = () =>
  process.env.WORKFLOW_BUNDLE_PATH
    ? { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('../../src/workflows') };

/** What a test worker runs: the activity doubles (or real activities) and, optionally, its task queue. */
export interface TestWorkerOptions {
  activities: object;
  /** Defaults to a fresh `tq-<uuid>`, so workflows of one test never reach another test's worker. */
  taskQueue?: string;
}

/**
 * Runs `fn` while a worker polls a task queue of its own with the project's workflows and the
 * given activities; the worker shuts down once `fn` settles (its rejection fails the test).
 */
export async function withTestWorker<T>(
  env: Pick<TestWorkflowEnvironment, 'nativeConnection'>,
  { activities, taskQueue = `tq-${randomUUID()}` }: TestWorkerOptions,
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    ...workflowsOption(),
    activities,
  });
  return worker.runUntil(() => fn(taskQueue));
}

/** A hold of seat 17 on 2099-12-24 of a fresh concert by a fresh user, with `overrides`. */
export const holdRequest = (overrides: Partial<HoldRequest> = {}): HoldRequest => ({
  reservationId: randomUUID(),
  userId: randomUUID(),
  concertId: randomUUID(),
  date: '2099-12-24',
  seatNo: 17,
  ...overrides,
});

/**
 * Holds `request`'s seat as the API does (update-with-start of the seat's reservation workflow on
 * `taskQueue`); `start` builds another start operation for the same seat, for a second hold.
 */
export async function startHold(client: Client, taskQueue: string, request: HoldRequest) {
  const { concertId, date, seatNo } = request;
  const start = () =>
    new WithStartWorkflowOperation(reservationWorkflow, {
      workflowId: reservationWorkflowId(concertId, date, seatNo),
      taskQueue,
      args: [{ concertId, date, seatNo }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  const startOp = start();
  const view = await client.workflow.executeUpdateWithStart(holdUpdate, {
    args: [request],
    startWorkflowOperation: startOp,
  });
  return { view, handle: await startOp.workflowHandle(), start };
}
