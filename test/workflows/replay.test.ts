import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

const DIR = path.join(__dirname, 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('replay of recorded histories (scripts/record-histories.ts)', () => {
  it('when the history files are listed, then every workflow path has one', () => {
    expect(files.sort()).toEqual([
      'queue-admission-continued.json',
      'queue-entry-checkout.json',
      'queue-entry-extended-expired.json',
      'queue-entry-handover.json',
      'reservation-cancelled.json',
      'reservation-expired.json',
      'reservation-settled.json',
      // Recorded before checkout moved to the entry workflow: runs of this shape may still be open.
      'v1-queue-entry-completed.json',
      'v1-queue-entry-expired.json',
      'v1-reservation-cancelled.json',
      'v1-reservation-expired.json',
      'v1-reservation-paid.json',
      // Recorded before the hold step reported the hold's remaining time (patch reservation-timer-from-hold-step).
      'v2-reservation-cancelled.json',
      'v2-reservation-expired.json',
      'v2-reservation-settled.json',
    ]);
  });

  it.each(files)('when %s is replayed with today’s workflow code, then it is deterministic', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')));
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! } }, history, file),
    ).resolves.toBeUndefined();
  });
});
