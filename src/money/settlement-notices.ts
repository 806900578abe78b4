import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Semaphore } from 'async-mutex';
import { completeSignal, settledSignal } from '../shared/definitions';
import { queueEntryWorkflowId, reservationWorkflowId } from '../shared/ids';
import type { CheckoutResult } from '../shared/types';

/** How many notice signals one process has under way at once (the rest wait their turn). */
const CONCURRENCY = 32;

/**
 * Tells the workflows what a committed checkout decided: each reservation workflow that it
 * paid or released gets `settled` (its timer then releases nothing), and the payer's entry
 * workflow gets `complete` (it ends COMPLETED at once instead of at its window's end).
 *
 * Sent after the payer has the answer, so a payment's latency is MySQL's and Redis', not
 * Temporal's. The notices are a courtesy to the workflows, not part of the truth: a run that
 * misses one (the process died, Temporal was away) still releases nothing paid, because its
 * release step is guarded by the reservation's row, and its entry's slot is already freed in
 * Redis. Build one per process.
 */
export class SettlementNotices {
  private readonly slots = new Semaphore(CONCURRENCY);
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly temporal: Client,
    private readonly warn: (meta: Record<string, unknown>, message: string) => void = () => undefined,
  ) {}

  /** Queues the notices of one checkout; returns at once. */
  send(userId: string, tokenId: string, settled: CheckoutResult['settled']): void {
    for (const seat of settled) {
      this.queue(
        {
          workflowId: reservationWorkflowId(seat.concertId, seat.date, seat.seatNo),
          reservationId: seat.reservationId,
        },
        (handle) => handle.signal(settledSignal, { reservationId: seat.reservationId, outcome: seat.outcome }),
      );
    }
    this.queue({ workflowId: queueEntryWorkflowId(userId), userId }, (handle) =>
      handle.signal(completeSignal, { tokenId }),
    );
  }

  /** Notices queued or under way, not yet sent or given up (the api's `workflow_notices_pending`). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Resolves once every notice queued so far has been sent or given up (tests, shutdown). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private queue(
    about: { workflowId: string } & Record<string, unknown>,
    signal: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>,
  ): void {
    const sent = this.slots
      .runExclusive(() => signal(this.temporal.workflow.getHandle(about.workflowId)))
      .catch((err: unknown) => {
        // A run that has ended already needs no notice; anything else is logged and dropped.
        if (!(err instanceof WorkflowNotFoundError)) this.warn({ ...about, err }, 'workflow notice not sent');
      });
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }
}
