import { condition, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { createQueueActivities } from '../activities/queue';
import { admitSignal, completeSignal, entryStateQuery } from '../shared/definitions';
import { SA } from '../shared/search-attributes';
import { TOKEN_LIFETIME_SECONDS } from '../shared/types';
import type { QueueEntryInput, QueueEntryState, QueueStatus } from '../shared/types';

const { finishEntry } = proxyActivities<ReturnType<typeof createQueueActivities>>({
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '5 seconds' },
});

/**
 * One user's place in the queue (id `queue-entry:<userId>`). Waits for admission, then
 * holds the active slot for the time the admission granted; ends COMPLETED when the user
 * pays, EXPIRED when the time runs out, and frees the slot either way.
 */
export async function queueEntryWorkflow(input: QueueEntryInput): Promise<QueueEntryState> {
  let status: QueueStatus = 'WAITING';
  let activeUntil: number | null = null;
  let completed = false;

  const state = (): QueueEntryState => ({
    userId: input.userId,
    tokenId: input.tokenId,
    status,
    activeUntil: activeUntil === null ? null : new Date(activeUntil).toISOString(),
  });
  const setStatus = (next: QueueStatus): void => {
    status = next;
    upsertSearchAttributes([{ key: SA.queueStatus, value: next }]);
  };

  setHandler(entryStateQuery, state);
  setHandler(admitSignal, ({ tokenId, activeUntil: until }) => {
    if (tokenId === input.tokenId && status === 'WAITING') {
      activeUntil = until;
      setStatus('ACTIVE');
    }
  });
  setHandler(completeSignal, ({ tokenId }) => {
    if (tokenId === input.tokenId) completed = true;
  });

  upsertSearchAttributes([
    { key: SA.userId, value: input.userId },
    { key: SA.queueStatus, value: status },
  ]);

  // A token is void after its lifetime, so an entry nobody admits does not wait forever.
  const admitted = await condition(() => status === 'ACTIVE' || completed, TOKEN_LIFETIME_SECONDS * 1000);
  if (admitted && !completed && activeUntil !== null) {
    await condition(() => completed, Math.max(1, activeUntil - Date.now()));
  }
  setStatus(completed ? 'COMPLETED' : 'EXPIRED');
  await finishEntry({ userId: input.userId, tokenId: input.tokenId, status: completed ? 'COMPLETED' : 'EXPIRED' });
  return state();
}
