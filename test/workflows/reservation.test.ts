import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  cancelUpdate,
  ErrorType,
  holdUpdate,
  reservationStateQuery,
  SA,
  settledSignal,
  type HeldSeat,
  type HoldRequest,
  type PaymentView,
  type ReleaseRequest,
  type ReservationView,
} from '../../src/shared';
import { createTimeSkippingEnv, holdRequest, startHold, withTestWorker } from '../helpers/temporal';

const HOLD_SECONDS = 300;

/** Activity doubles that keep a seat in memory and record what the workflow asked for. */
function fakeActivities(env: TestWorkflowEnvironment) {
  const calls: { release: ReleaseRequest[]; releasedAt: number[]; pay: number } = {
    release: [],
    releasedAt: [],
    pay: 0,
  };
  let held: ReservationView | null = null;
  const activities = {
    holdSeat: async (req: HoldRequest): Promise<HeldSeat> => {
      const now = await env.currentTimeMs();
      held = { ...req, price: 50_000, status: 'HELD', heldUntil: new Date(now + HOLD_SECONDS * 1000).toISOString() };
      // As the real step does: what is left of the hold when the step ends.
      return { ...held, remainingMs: Date.parse(held.heldUntil) - (await env.currentTimeMs()) };
    },
    releaseSeat: async (req: ReleaseRequest): Promise<ReservationView> => {
      calls.release.push(req);
      calls.releasedAt.push(await env.currentTimeMs());
      return { ...held!, status: req.outcome };
    },
    payReservation: async (): Promise<PaymentView> => {
      calls.pay += 1;
      return {
        paymentId: randomUUID(),
        reservationId: held!.reservationId,
        reservationIds: [held!.reservationId],
        amount: 50_000,
        balance: 0,
        paidAt: new Date().toISOString(),
      };
    },
    markEntryCompleted: async (): Promise<string | null> => null,
  };
  return { activities, calls };
}

describe('reservation workflow (time-skipping)', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  async function holdWith(taskQueue: string) {
    const request = holdRequest();
    return { ...(await startHold(env.client, taskQueue, request)), request };
  }

  it('when the hold step reports how long the hold has left, then the timer counts from that, not from the workflow clock', async () => {
    // The workflow clock stands still while a local activity runs; a slow hold step (here, one
    // that says 90 s of the hold went by inside it) must not push the release past heldUntil.
    const { activities, calls } = fakeActivities(env);
    const slowStep = {
      ...activities,
      holdSeat: async (req: HoldRequest) => ({ ...(await activities.holdSeat(req)), remainingMs: 210_000 }),
    };
    await withTestWorker(env, { activities: slowStep }, async (taskQueue) => {
      const { view, handle } = await holdWith(taskQueue);
      expect(view).not.toHaveProperty('remainingMs');
      await handle.result();
      const early = Date.parse(view.heldUntil) - calls.releasedAt[0]!;
      // Without the step's figure the release would come at heldUntil or later (early ≤ 0).
      expect(early).toBeGreaterThan(60_000);
      expect(early).toBeLessThanOrEqual(90_000);
    });
  });

  it('when a hold is not paid, then the seat is released after exactly SEAT_HOLD_SECONDS of workflow time', async () => {
    const { activities, calls } = fakeActivities(env);
    await withTestWorker(env, { activities }, async (taskQueue) => {
      const wallStart = Date.now();
      const { view, handle } = await holdWith(taskQueue);
      expect(view.status).toBe('HELD');
      const result = await handle.result();
      const wallMs = Date.now() - wallStart;
      expect(result.reservation?.status).toBe('EXPIRED');
      expect(calls.release).toEqual([{ reservationId: view.reservationId, outcome: 'EXPIRED' }]);
      expect(calls.releasedAt[0]).toBeGreaterThanOrEqual(Date.parse(view.heldUntil));
      expect(calls.releasedAt[0]! - Date.parse(view.heldUntil)).toBeLessThan(1000);
      expect(wallMs).toBeLessThan(HOLD_SECONDS * 1000);
      console.log(`five-minute hold expired after ${wallMs} ms of wall time`);
    });
  });

  it('when the seat is already held, then a second hold is refused without another activity', async () => {
    const { activities } = fakeActivities(env);
    let holds = 0;
    const counting = {
      ...activities,
      holdSeat: async (req: HoldRequest) => {
        holds += 1;
        return activities.holdSeat(req);
      },
    };
    await withTestWorker(env, { activities: counting }, async (taskQueue) => {
      const { request, start, handle } = await holdWith(taskQueue);
      const second = env.client.workflow.executeUpdateWithStart(holdUpdate, {
        args: [{ ...request, reservationId: randomUUID(), userId: randomUUID() }],
        startWorkflowOperation: start(),
      });
      await expect(second).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(second).rejects.toMatchObject({ cause: { type: ErrorType.SEAT_UNAVAILABLE } });
      expect(holds).toBe(1);
      // End the run: a timer left behind on a queue without a worker would stall time skipping in later tests.
      await handle.executeUpdate(cancelUpdate, { args: [request] });
      await handle.result();
    });
  });

  it.each(['CONFIRMED', 'CANCELLED'] as const)(
    "when the user's checkout settles the hold (%s) before the timer, then the run ends so and never releases",
    async (outcome) => {
      const { activities, calls } = fakeActivities(env);
      await withTestWorker(env, { activities }, async (taskQueue) => {
        const { view, handle } = await holdWith(taskQueue);
        // A settlement of another reservation (an older hold of this seat) changes nothing.
        await handle.signal(settledSignal, { reservationId: randomUUID(), outcome });
        expect((await handle.query(reservationStateQuery)).reservation?.status).toBe('HELD');
        await handle.signal(settledSignal, { reservationId: view.reservationId, outcome });
        const result = await handle.result();
        expect(result.reservation?.status).toBe(outcome);
        expect(calls.release).toEqual([]);
        expect((await handle.describe()).typedSearchAttributes.get(SA.reservationStatus)).toBe(outcome);
      });
    },
  );

  it('when the user cancels, then the seat is released at once and a late cancel changes nothing', async () => {
    const { activities, calls } = fakeActivities(env);
    await withTestWorker(env, { activities }, async (taskQueue) => {
      const { view, handle, request } = await holdWith(taskQueue);
      const cancelledAt = await env.currentTimeMs();
      const cancelled = await handle.executeUpdate(cancelUpdate, {
        args: [{ reservationId: view.reservationId, userId: request.userId }],
      });
      expect(cancelled.status).toBe('CANCELLED');
      const result = await handle.result();
      expect(result.reservation?.status).toBe('CANCELLED');
      expect(calls.release).toEqual([{ reservationId: view.reservationId, outcome: 'CANCELLED' }]);
      // Released when asked, not when the hold would have lapsed.
      expect(calls.releasedAt[0]! - cancelledAt).toBeLessThan(1000);
      expect(calls.releasedAt[0]!).toBeLessThan(Date.parse(view.heldUntil) - (HOLD_SECONDS - 5) * 1000);

      const late = handle.executeUpdate(cancelUpdate, {
        args: [{ reservationId: view.reservationId, userId: request.userId }],
      });
      await expect(late).rejects.toBeInstanceOf(WorkflowNotFoundError);
      expect(calls.release).toHaveLength(1);
    });
  });

  it('when a cancel arrives after the hold expired, then it is refused and the seat is not released again', async () => {
    const { activities, calls } = fakeActivities(env);
    await withTestWorker(env, { activities }, async (taskQueue) => {
      const { view, handle, request } = await holdWith(taskQueue);
      const result = await handle.result();
      expect(result.reservation?.status).toBe('EXPIRED');

      const late = handle.executeUpdate(cancelUpdate, {
        args: [{ reservationId: view.reservationId, userId: request.userId }],
      });
      // The run has ended; the API answers this with 409 RESERVATION_NOT_HELD.
      await expect(late).rejects.toBeInstanceOf(WorkflowNotFoundError);
      expect(calls.release).toEqual([{ reservationId: view.reservationId, outcome: 'EXPIRED' }]);
      expect((await handle.describe()).status.name).toBe('COMPLETED');
    });
  });

  it('when a cancel names another reservation, then it is refused with RESERVATION_NOT_HELD and the hold stays', async () => {
    const { activities, calls } = fakeActivities(env);
    await withTestWorker(env, { activities }, async (taskQueue) => {
      const { view, handle, request } = await holdWith(taskQueue);
      const wrong = handle.executeUpdate(cancelUpdate, {
        args: [{ reservationId: randomUUID(), userId: request.userId }],
      });
      await expect(wrong).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(wrong).rejects.toMatchObject({ cause: { type: ErrorType.RESERVATION_NOT_HELD } });
      expect(calls.release).toEqual([]);
      // The hold still runs to its timer.
      const result = await handle.result();
      expect(result.reservation?.status).toBe('EXPIRED');
      expect(calls.release).toEqual([{ reservationId: view.reservationId, outcome: 'EXPIRED' }]);
    });
  });
});
