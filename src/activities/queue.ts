import { asyncLocalStorage } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { QueueService } from '../queue/service';
import { admitSignal } from '../shared/definitions';
import { queueEntryWorkflowId } from '../shared/ids';
import type { QueueStatus, TickResult } from '../shared/types';
import type { ActivityDeps } from './deps';

/** Logs through the activity context when there is one (tests also call these directly). */
const warn = (message: string, meta: Record<string, unknown>): void => {
  asyncLocalStorage.getStore()?.log.warn(message, meta);
};

/** Queue activities: admission ticks and entry bookkeeping in Redis. */
export function createQueueActivities(deps: Pick<ActivityDeps, 'redis' | 'keys' | 'config' | 'temporal'>) {
  const queue = new QueueService(deps);

  /**
   * Signals every admission in the outbox to its entry workflow, in parallel, and removes
   * each item once delivered (at least once: a repeated signal is ignored by the workflow).
   * A workflow that does not exist (its start failed, or it has not started yet: the API
   * checks for that right after starting it) needs no signal. Other failures stay for the
   * next tick.
   */
  async function drainOutbox(): Promise<number> {
    const pending = await queue.pendingAdmissions();
    let failed = 0;
    await Promise.all(
      pending.map(async (admission) => {
        try {
          await deps.temporal.workflow
            .getHandle(queueEntryWorkflowId(admission.userId))
            .signal(admitSignal, { tokenId: admission.tokenId, activeUntil: admission.activeUntil });
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) {
            failed++;
            warn('admit signal failed; retried next tick', { userId: admission.userId, error: String(err) });
            return;
          }
        }
        await queue.ackAdmission(admission);
      }),
    );
    return failed;
  }

  return {
    /** Admits as many waiting users as capacity and rate allow, and signals their entries. */
    admitTick: async (): Promise<TickResult> => {
      const started = Date.now();
      const { admitted, expired } = await queue.admit();
      const undelivered = await drainOutbox();
      asyncLocalStorage
        .getStore()
        ?.log.debug('admission tick', { admitted, expired, undelivered, ms: Date.now() - started });
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
