import type { QueueStatus, TickResult } from '../shared/types';
import type { ActivityDeps } from './deps';

/** Queue activities: admission ticks and entry bookkeeping in Redis. */
export function createQueueActivities(deps: Pick<ActivityDeps, 'redis' | 'keys' | 'config' | 'temporal'>) {
  void deps;
  return {
    /** Admits as many waiting users as capacity and rate allow, and signals their entries. */
    async admitTick(): Promise<TickResult> {
      throw new Error('not implemented');
    },
    /** Marks the entry ended and frees its slot, if the entry still carries `tokenId`. */
    async finishEntry(input: {
      userId: string;
      tokenId: string;
      status: Extract<QueueStatus, 'EXPIRED' | 'COMPLETED'>;
    }): Promise<void> {
      void input;
      throw new Error('not implemented');
    },
    /** Marks the user's live entry COMPLETED (token spent); returns its tokenId, or null when none lives. */
    async markEntryCompleted(input: { userId: string }): Promise<string | null> {
      void input;
      throw new Error('not implemented');
    },
  };
}
