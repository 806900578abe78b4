import { asyncLocalStorage } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { QueueService } from '../queue/service';
import type { Admission } from '../queue/service';
import { admitSignal } from '../shared/definitions';
import { queueEntryWorkflowId } from '../shared/ids';
import type { QueueStatus, TickResult } from '../shared/types';
import type { ActivityDeps } from './deps';

/** How long a tick waits for its admit signals before it returns (see drainOutbox). */
const DRAIN_BUDGET_MS = 250;

/** Logs through the activity context when there is one (tests also call these directly). */
const warn = (message: string, meta: Record<string, unknown>): void => {
  asyncLocalStorage.getStore()?.log.warn(message, meta);
};

/** Queue activities: admission ticks and entry bookkeeping in Redis. */
export function createQueueActivities(deps: Pick<ActivityDeps, 'redis' | 'keys' | 'config' | 'temporal'>) {
  const queue = new QueueService(deps);

  /** Outbox items whose signal this process is sending right now (not sent twice by it). */
  const inFlight = new Set<string>();

  async function deliver(admission: Admission): Promise<boolean> {
    try {
      await deps.temporal.workflow
        .getHandle(queueEntryWorkflowId(admission.userId))
        .signal(admitSignal, { tokenId: admission.tokenId, activeUntil: admission.activeUntil });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) {
        warn('admit signal failed; retried next tick', { userId: admission.userId, error: String(err) });
        return false;
      }
    }
    await queue.ackAdmission(admission);
    return true;
  }

  /**
   * Signals every admission in the outbox to its entry workflow, in parallel, and removes
   * each item once delivered (at least once: a repeated signal is ignored by the workflow).
   * A workflow that does not exist (its start failed, or it has not started yet: the API
   * checks for that right after starting it) needs no signal. Failures stay for the next tick.
   *
   * Waits at most `budgetMs`: the user is already ACTIVE in Redis (the gate reads Redis) and
   * the signal carries the absolute activeUntil, so a late signal costs nothing, whereas a
   * tick held up by slow signals would admit less than the configured rate. Signals still
   * under way finish in the background; if the process dies first, the next tick sends them.
   * Returns how many signals were not confirmed within the budget.
   */
  async function drainOutbox(budgetMs: number): Promise<number> {
    const pending = (await queue.pendingAdmissions()).filter((a) => !inFlight.has(a.raw));
    const sends = pending.map(async (admission) => {
      inFlight.add(admission.raw);
      try {
        return await deliver(admission);
      } catch (err) {
        warn('admit outbox update failed; retried next tick', { userId: admission.userId, error: String(err) });
        return false;
      } finally {
        inFlight.delete(admission.raw);
      }
    });
    const all = Promise.all(sends);
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), budgetMs);
    });
    const done = await Promise.race([all, budget]);
    clearTimeout(timer);
    return done === null ? pending.length : done.filter((delivered) => !delivered).length;
  }

  return {
    /** Admits as many waiting users as capacity and rate allow, and signals their entries. */
    admitTick: async (): Promise<TickResult> => {
      const started = Date.now();
      const { admitted, expired } = await queue.admit();
      const unconfirmed = await drainOutbox(DRAIN_BUDGET_MS);
      asyncLocalStorage
        .getStore()
        ?.log.debug('admission tick', { admitted, expired, unconfirmed, ms: Date.now() - started });
      return { admitted };
    },
    /** Marks the entry ended and frees its slot, if the entry still carries `tokenId`. */
    finishEntry: async (input: {
      userId: string;
      tokenId: string;
      status: Extract<QueueStatus, 'EXPIRED' | 'COMPLETED'>;
    }): Promise<void> => {
      await queue.finish(input.userId, input.tokenId, input.status);
    },
    /** Marks the user's live entry COMPLETED (token spent); returns its tokenId, or null when none lives. */
    markEntryCompleted: async (input: { userId: string }): Promise<string | null> => {
      return queue.complete(input.userId);
    },
  };
}
