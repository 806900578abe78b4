import type { Client } from '@temporalio/client';

/**
 * Default of how long an HTTP request waits on a workflow update before answering 503 (retry):
 * without a deadline it would wait for as long as no worker runs. WORKFLOW_CALL_TIMEOUT_MS
 * (src/config.ts) sets it per process.
 */
export const WORKFLOW_CALL_DEADLINE_MS = 10_000;

/** Runs `fn`'s Temporal calls under a deadline `ms` from now. */
export const withWorkflowDeadline = <T>(
  client: Client,
  fn: () => Promise<T>,
  ms: number = WORKFLOW_CALL_DEADLINE_MS,
): Promise<T> => client.withDeadline(Date.now() + ms, fn);

/**
 * Runs `call`, and if it fails in a way `waitFor` says means "the workflow id's current run is
 * still ending" (an older hold releasing its seat, an older entry finishing), waits for that
 * run to close and runs `call` once more — all under one deadline `ms` from now.
 */
export function callAfterRunEnds<T>(
  client: Client,
  workflowId: string,
  call: () => Promise<T>,
  waitFor: (err: unknown) => boolean,
  ms: number = WORKFLOW_CALL_DEADLINE_MS,
): Promise<T> {
  return withWorkflowDeadline(
    client,
    async () => {
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
    },
    ms,
  );
}
