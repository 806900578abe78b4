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
      'queue-entry-completed.json',
      'queue-entry-expired.json',
      'reservation-cancelled.json',
      'reservation-expired.json',
      'reservation-paid.json',
    ]);
  });

  it.each(files)('when %s is replayed with today’s workflow code, then it is deterministic', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')));
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH! } }, history, file),
    ).resolves.toBeUndefined();
  });
});
