import { asyncLocalStorage } from '@temporalio/activity';
import { checkoutAndSpend } from '../money/checkout-flow';
import { admissionTick, EntryStarter } from '../queue/admission';
import type { Services } from '../services';
import type { CheckoutRequest, CheckoutResult, FinishResult, QueueStatus, TickResult } from '../shared/types';

/** Logs through the activity context when there is one (tests also call these directly). */
const warn = (message: string, meta: Record<string, unknown>): void => {
  asyncLocalStorage.getStore()?.log.warn(message, meta);
};

/**
 * How long an admission tick waits for its entry workflow starts (ticks are a second apart);
 * the rest finish in the background and the next tick does not start them twice.
 */
const START_WAIT_MS = 500;

/** Queue activities: admission ticks, the end of an entry, and the checkout that spends it. */
export function createQueueActivities(services: Services) {
  const { queue, seatState, dataSource } = services;
  // One per worker process: entry starts that outlast a tick go on behind the next tick.
  const starter = new EntryStarter({ queue, temporal: services.temporal, taskQueue: services.config.taskQueue, warn });
  return {
    /** Admits as many waiting users as the settings allow and starts their entry workflows. */
    admitTick: async (): Promise<TickResult> => {
      const started = Date.now();
      const outcome = await admissionTick({
        queue,
        settings: services.queueSettings,
        temporal: services.temporal,
        taskQueue: services.config.taskQueue,
        warn,
        starter,
        startWaitMs: START_WAIT_MS,
      });
      asyncLocalStorage.getStore()?.log.debug('admission tick', { ...outcome, ms: Date.now() - started });
      return { admitted: outcome.admitted, started: outcome.started };
    },

    /**
     * Ends the entry carrying `tokenId` and frees its slot, unless (for EXPIRED) a hold has
     * kept it admitted for longer: then it answers the new end and the workflow sleeps on.
     */
    finishEntry: async (input: {
      userId: string;
      tokenId: string;
      status: Extract<QueueStatus, 'EXPIRED' | 'COMPLETED'>;
    }): Promise<FinishResult> => queue.finish(input.userId, input.tokenId, input.status),

    /** v1 runs: marks the user's live entry COMPLETED; its tokenId, or null when none lives. */
    markEntryCompleted: async (input: { userId: string }): Promise<string | null> => queue.complete(input.userId),

    /**
     * The checkout (run as a local activity of the entry workflow, so a payment crosses the
     * task queue once): pays the reservations in one MySQL transaction and releases the user's
     * other holds (see {@link checkout}), then spends the token in Redis before the client
     * hears 201 and updates the seat pre-filter. Idempotent under retries.
     */
    checkout: async (request: CheckoutRequest): Promise<CheckoutResult> => {
      return checkoutAndSpend({ dataSource, queue, seatState }, request);
    },
  };
}
