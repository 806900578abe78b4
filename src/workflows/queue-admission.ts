import { continueAsNew, patched, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { createQueueActivities } from '../activities/queue';
import type { AdmissionInput } from '../shared/types';

const { admitTick } = proxyActivities<ReturnType<typeof createQueueActivities>>({
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '5 seconds' },
});

export const DEFAULT_TICKS_PER_RUN = 300;
export const DEFAULT_TICK_MS = 1000;
/** Patch id: runs recorded before it always slept between ticks. */
const SKIP_LATE_SLEEP = 'admission-skip-late-sleep';

/**
 * The single admission loop (id `queue-admission:<taskQueue>`). Each tick runs one activity
 * that admits as many waiting users as capacity and rate allow; the loop continues as new
 * every few hundred ticks so its history stays small.
 */
export async function queueAdmissionWorkflow(input: AdmissionInput = {}): Promise<void> {
  const ticksPerRun = input.ticksPerRun ?? DEFAULT_TICKS_PER_RUN;
  const tickMs = input.tickMs ?? DEFAULT_TICK_MS;
  for (let tick = 0; tick < ticksPerRun && !workflowInfo().continueAsNewSuggested; tick++) {
    const started = Date.now();
    await admitTick();
    const remaining = tickMs - (Date.now() - started);
    if (patched(SKIP_LATE_SLEEP)) {
      // A tick that ran late goes straight on: even a 1 ms timer costs a server round trip
      // (about a second on the dev server), and a loop slower than the 2 s the admission
      // script credits per tick would admit less than the configured rate.
      if (remaining > 0) await sleep(remaining);
    } else {
      await sleep(Math.max(1, remaining));
    }
  }
  await continueAsNew<typeof queueAdmissionWorkflow>(input);
}
