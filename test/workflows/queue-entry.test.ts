import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import {
  admitSignal,
  checkoutUpdate,
  completeSignal,
  entryStateQuery,
  ErrorType,
  queueEntryWorkflowId,
  SA,
} from '../../src/shared';
import type { CheckoutRequest, CheckoutResult, FinishResult, QueueStatus } from '../../src/shared';
import { queueEntryWorkflow } from '../../src/workflows';
import { createTimeSkippingEnv, withTestWorker } from '../helpers/temporal';

const TTL_MS = 600_000;

describe('queue entry workflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  /**
   * A worker whose finishEntry records what it was told and when (workflow time), and answers
   * what `extendTo` says (a hold that moved the window's end); checkout answers `checkoutResult`.
   */
  async function withWorker(
    fn: (taskQueue: string, finished: Array<Record<string, unknown>>, checkouts: CheckoutRequest[]) => Promise<void>,
    options: { extendTo?: Array<number | null>; checkout?: (request: CheckoutRequest) => CheckoutResult } = {},
  ) {
    const finished: Array<Record<string, unknown>> = [];
    const checkouts: CheckoutRequest[] = [];
    const extensions = [...(options.extendTo ?? [])];
    const activities = {
      finishEntry: async (input: { userId: string; tokenId: string; status: QueueStatus }): Promise<FinishResult> => {
        finished.push({ ...input, at: await env.currentTimeMs() });
        const until = extensions.shift() ?? null;
        return until === null ? { ended: true } : { ended: false, activeUntil: until };
      },
      checkout: async (request: CheckoutRequest): Promise<CheckoutResult> => {
        checkouts.push(request);
        if (!options.checkout) throw new Error('no checkout in this test');
        return options.checkout(request);
      },
    };
    await withTestWorker(env, { activities }, (taskQueue) => fn(taskQueue, finished, checkouts));
  }

  /** An entry as the admission starts it: ACTIVE until `activeUntil`. */
  async function startAdmitted(taskQueue: string, activeUntil: number) {
    const userId = randomUUID();
    const tokenId = randomUUID();
    const handle = await env.client.workflow.start(queueEntryWorkflow, {
      workflowId: queueEntryWorkflowId(userId),
      taskQueue,
      args: [{ userId, tokenId, activeUntil }],
    });
    return { userId, tokenId, handle };
  }

  const paymentFor = (request: CheckoutRequest): CheckoutResult => ({
    payment: {
      paymentId: randomUUID(),
      reservationId: request.reservationIds[0]!,
      reservationIds: request.reservationIds,
      amount: 1000,
      balance: 0,
      paidAt: new Date().toISOString(),
    },
    settled: request.reservationIds.map((reservationId, i) => ({
      reservationId,
      concertId: randomUUID(),
      date: '2099-12-24',
      seatNo: i + 1,
      outcome: 'CONFIRMED' as const,
    })),
  });

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

  it('when an admitted entry is not used, then it expires at its activeUntil and frees its slot', async () => {
    await withWorker(async (taskQueue, finished) => {
      const activeUntil = (await env.currentTimeMs()) + TTL_MS;
      const { userId, tokenId, handle } = await startAdmitted(taskQueue, activeUntil);
      expect(await handle.query(entryStateQuery)).toMatchObject({ status: 'ACTIVE' });
      expect((await handle.result()).status).toBe('EXPIRED');
      expect(finished).toEqual([expect.objectContaining({ userId, tokenId, status: 'EXPIRED' })]);
      expect(finished[0]!.at as number).toBeGreaterThanOrEqual(activeUntil);
      expect(finished[0]!.at as number).toBeLessThan(activeUntil + 1000);
      expect((await handle.describe()).typedSearchAttributes.get(SA.queueStatus)).toBe('EXPIRED');
    });
  });

  it('when the API signals that the admitted user paid, then the entry ends COMPLETED at once without another finish', async () => {
    await withWorker(async (taskQueue, finished) => {
      const activeUntil = (await env.currentTimeMs()) + TTL_MS;
      const { tokenId, handle } = await startAdmitted(taskQueue, activeUntil);
      // A notice about another token (an older entry of the same user) changes nothing.
      await handle.signal(completeSignal, { tokenId: randomUUID() });
      expect((await handle.query(entryStateQuery)).status).toBe('ACTIVE');
      await handle.signal(completeSignal, { tokenId });
      expect((await handle.result()).status).toBe('COMPLETED');
      // The API already spent the token and freed the slot in Redis: nothing is finished again.
      expect(finished).toEqual([]);
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(SA.queueStatus)).toBe('COMPLETED');
      // It ended on the notice, not at the window's end.
      expect(described.closeTime!.getTime()).toBeLessThan(activeUntil);
    });
  });

  it('when a hold moved the window past its end, then the entry sleeps on until the new end', async () => {
    const start = await env.currentTimeMs();
    const extended = start + TTL_MS + 240_000;
    await withWorker(
      async (taskQueue, finished) => {
        const { handle } = await startAdmitted(taskQueue, start + TTL_MS);
        expect((await handle.result()).status).toBe('EXPIRED');
        expect(finished).toHaveLength(2);
        expect(finished[1]!.at as number).toBeGreaterThanOrEqual(extended);
        expect(finished[1]!.at as number).toBeLessThan(extended + 1000);
      },
      { extendTo: [extended, null] },
    );
  });

  it('when the user checks out, then the entry pays through its local activity once and ends COMPLETED', async () => {
    await withWorker(
      async (taskQueue, finished, checkouts) => {
        const { userId, tokenId, handle } = await startAdmitted(taskQueue, (await env.currentTimeMs()) + TTL_MS);
        const request: CheckoutRequest = {
          userId,
          tokenId,
          reservationIds: [randomUUID(), randomUUID()],
          arrivedAt: Date.now(),
          idempotencyKey: 'k1',
        };
        // Two identical retries at once: the second waits for the first and gets its answer.
        const [paid, again] = await Promise.all([
          handle.executeUpdate(checkoutUpdate, { args: [request] }),
          handle.executeUpdate(checkoutUpdate, { args: [request] }),
        ]);
        expect(again).toEqual(paid);
        expect(paid.reservationIds).toEqual(request.reservationIds);
        expect((await handle.result()).status).toBe('COMPLETED');
        expect(checkouts).toHaveLength(1);
        // The checkout's local activity already spent the token in Redis: nothing else to finish.
        expect(finished).toEqual([]);
        expect((await handle.describe()).typedSearchAttributes.get(SA.queueStatus)).toBe('COMPLETED');
      },
      { checkout: paymentFor },
    );
  });

  it('when a checkout fails (402), then the entry stays ACTIVE and a later checkout can pay', async () => {
    let attempts = 0;
    await withWorker(
      async (taskQueue, _finished, checkouts) => {
        const { userId, tokenId, handle } = await startAdmitted(taskQueue, (await env.currentTimeMs()) + TTL_MS);
        const request: CheckoutRequest = { userId, tokenId, reservationIds: [randomUUID()], arrivedAt: Date.now() };
        await expect(handle.executeUpdate(checkoutUpdate, { args: [request] })).rejects.toMatchObject({
          cause: { type: ErrorType.INSUFFICIENT_BALANCE },
        });
        expect((await handle.query(entryStateQuery)).status).toBe('ACTIVE');
        await handle.executeUpdate(checkoutUpdate, { args: [request] });
        expect((await handle.result()).status).toBe('COMPLETED');
        expect(checkouts).toHaveLength(2);
      },
      {
        checkout: (request) => {
          attempts += 1;
          if (attempts === 1) throw ApplicationFailure.nonRetryable('too poor', ErrorType.INSUFFICIENT_BALANCE);
          return paymentFor(request);
        },
      },
    );
  });

  it('when a checkout names another token of the user, then the update is refused before any work', async () => {
    await withWorker(async (taskQueue, _finished, checkouts) => {
      const { userId, handle } = await startAdmitted(taskQueue, (await env.currentTimeMs()) + TTL_MS);
      const request = { userId, tokenId: randomUUID(), reservationIds: [randomUUID()], arrivedAt: Date.now() };
      await expect(handle.executeUpdate(checkoutUpdate, { args: [request] })).rejects.toMatchObject({
        cause: { type: ErrorType.ENTRY_SUPERSEDED },
      });
      expect(checkouts).toEqual([]);
      await handle.terminate();
    });
  });

  it('when the user is admitted again while the old run ends, then the run hands over to the new entry', async () => {
    await withWorker(async (taskQueue, finished) => {
      const first = (await env.currentTimeMs()) + TTL_MS;
      const { userId, tokenId, handle } = await startAdmitted(taskQueue, first);
      const newer = { tokenId: randomUUID(), activeUntil: first + TTL_MS };
      await handle.signal(admitSignal, newer);
      const result = await handle.result();
      // The same workflow id went on with the newer entry and ended it in its turn.
      expect(result).toMatchObject({ tokenId: newer.tokenId, status: 'EXPIRED' });
      expect(finished.map((f) => f.tokenId)).toEqual([tokenId, newer.tokenId]);
      expect(finished.every((f) => f.userId === userId)).toBe(true);
    });
  });
});
