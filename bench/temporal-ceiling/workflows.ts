/**
 * The Temporal ceiling's workflows: as little as a workflow can do, so the bench measures
 * what the Temporal server and one worker process cost per workflow and per update.
 */
import { condition, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

/** Starts and completes at once: one start-and-complete round trip. */
export async function bareWorkflow(): Promise<number> {
  return 1;
}

export const pingUpdate = defineUpdate<number, [number]>('ping');
export const doneSignal = defineSignal('done');

/** Answers `ping` updates (no validator, no I/O) until `done`. */
export async function pingWorkflow(): Promise<number> {
  let pings = 0;
  let done = false;
  setHandler(pingUpdate, (n: number) => {
    pings += 1;
    return n;
  });
  setHandler(doneSignal, () => {
    done = true;
  });
  await condition(() => done);
  return pings;
}
