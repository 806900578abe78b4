import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { admitSignal, completeSignal, entryStateQuery, queueEntryWorkflowId, SA } from '../../src/shared';
import type { QueueStatus } from '../../src/shared';
import { queueEntryWorkflow } from '../../src/workflows';
import { createTimeSkippingEnv } from '../helpers/temporal';

const TTL_MS = 600_000;

const workflowsOption = () =>
  process.env.WORKFLOW_BUNDLE_PATH
    ? { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('../../src/workflows') };

describe('queue entry workflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  /** A worker whose finishEntry records what it was told and when (workflow time). */
  async function withWorker(fn: (taskQueue: string, finished: Array<Record<string, unknown>>) => Promise<void>) {
    const taskQueue = `tq-${randomUUID()}`;
    const finished: Array<Record<string, unknown>> = [];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      ...workflowsOption(),
      activities: {
        finishEntry: async (input: { userId: string; tokenId: string; status: QueueStatus }) => {
          finished.push({ ...input, at: await env.currentTimeMs() });
        },
      },
    });
    await worker.runUntil(fn(taskQueue, finished));
  }

  async function startEntry(taskQueue: string) {
    const userId = randomUUID();
    const tokenId = randomUUID();
    const handle = await env.client.workflow.start(queueEntryWorkflow, {
      workflowId: queueEntryWorkflowId(userId),
      taskQueue,
      args: [{ userId, tokenId }],
    });
    return { userId, tokenId, handle };
  }

  it('when an admitted entry is not used, then it expires once its active time has passed and frees its slot', async () => {
    await withWorker(async (taskQueue, finished) => {
      const { userId, tokenId, handle } = await startEntry(taskQueue);
      expect(await handle.query(entryStateQuery)).toMatchObject({ status: 'WAITING', activeUntil: null });
      const activeUntil = (await env.currentTimeMs()) + TTL_MS;
      // A signal for another token (an older entry of the same user) is ignored.
      await handle.signal(admitSignal, { tokenId: randomUUID(), activeUntil });
      expect((await handle.query(entryStateQuery)).status).toBe('WAITING');
      await handle.signal(admitSignal, { tokenId, activeUntil });
      expect(await handle.query(entryStateQuery)).toEqual({
        userId,
        tokenId,
        status: 'ACTIVE',
        activeUntil: new Date(activeUntil).toISOString(),
      });

      const result = await handle.result();
      expect(result.status).toBe('EXPIRED');
      expect(finished).toHaveLength(1);
      expect(finished[0]).toMatchObject({ userId, tokenId, status: 'EXPIRED' });
      expect(finished[0]!.at).toBeGreaterThanOrEqual(activeUntil);
      expect(finished[0]!.at as number).toBeLessThan(activeUntil + 1000);
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(SA.queueStatus)).toBe('EXPIRED');
      expect(described.typedSearchAttributes.get(SA.userId)).toBe(userId);
    });
  });

  it('when the user completes before the active time ends, then the entry ends COMPLETED at once', async () => {
    await withWorker(async (taskQueue, finished) => {
      const { userId, tokenId, handle } = await startEntry(taskQueue);
      const activeUntil = (await env.currentTimeMs()) + TTL_MS;
      await handle.signal(admitSignal, { tokenId, activeUntil });
      await env.sleep(60_000);
      await handle.signal(completeSignal, { tokenId });
      const result = await handle.result();
      expect(result.status).toBe('COMPLETED');
      expect(finished).toEqual([expect.objectContaining({ userId, tokenId, status: 'COMPLETED' })]);
      expect(finished[0]!.at as number).toBeLessThan(activeUntil);
    });
  });
});
