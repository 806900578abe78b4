import type { Client } from '@temporalio/client';

/**
 * Longest an HTTP request waits on a workflow update before answering 503 (retry): without a
 * deadline it would wait for as long as no worker runs.
 */
export const WORKFLOW_CALL_DEADLINE_MS = 10_000;

/** Runs `fn`'s Temporal calls under {@link WORKFLOW_CALL_DEADLINE_MS}. */
export const withWorkflowDeadline = <T>(client: Client, fn: () => Promise<T>): Promise<T> =>
  client.withDeadline(Date.now() + WORKFLOW_CALL_DEADLINE_MS, fn);
