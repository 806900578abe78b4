import type { Client } from '@temporalio/client';

/**
 * Longest an HTTP request waits on a workflow update before answering 503 (retry): without a
 * deadline it would wait for as long as no worker runs.
 */
export const WORKFLOW_CALL_DEADLINE_MS = 10_000;

/** Runs `fn`'s Temporal calls under {@link WORKFLOW_CALL_DEADLINE_MS}. */
export const withWorkflowDeadline = <T>(client: Client, fn: () => Promise<T>): Promise<T> =>
  client.withDeadline(Date.now() + WORKFLOW_CALL_DEADLINE_MS, fn);

/**
 * Runs `call`, and if it fails in a way `waitFor` says means "the workflow id's current run is
 * still ending" (an older hold releasing its seat, an older entry finishing), waits for that
 * run to close and runs `call` once more — all under {@link WORKFLOW_CALL_DEADLINE_MS}.
 */
export function callAfterRunEnds<T>(
  client: Client,
  workflowId: string,
  call: () => Promise<T>,
  waitFor: (err: unknown) => boolean,
): Promise<T> {
  return withWorkflowDeadline(client, async () => {
    try {
      return await call();
    } catch (err) {
      if (!waitFor(err)) throw err;
      await client.workflow
        .getHandle(workflowId)
        .result()
        .catch(() => undefined);
      return call();
    }
  });
}
