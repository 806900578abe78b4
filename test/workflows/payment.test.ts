import { randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  cancelUpdate,
  ErrorType,
  payUpdate,
  reservationStateQuery,
  type HoldRequest,
  type PaymentView,
  type PayRequest,
  type ReleaseRequest,
  type ReservationView,
} from '../../src/shared';
import type { reservationWorkflow } from '../../src/workflows';
import { createTimeSkippingEnv, holdRequest, startHold, withTestWorker } from '../helpers/temporal';

const HOLD_SECONDS = 300;
const PRICE = 50_000;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
const deferred = (): Deferred => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

/**
 * Activity doubles that model the seat and the balance in memory with the guards the real
 * transaction has (hold lapsed at heldUntil in workflow time, balance ≥ price), and can be
 * made to block so a test can interleave the timer with a payment or release.
 */
function fakeActivities(env: TestWorkflowEnvironment, { balance = PRICE } = {}) {
  const state = {
    balance,
    held: null as ReservationView | null,
    status: 'HELD' as ReservationView['status'],
    payments: [] as PaymentView[],
    releases: [] as ReleaseRequest[],
    payCalls: 0,
    completed: [] as string[],
    payStarted: deferred(),
    releaseStarted: deferred(),
    payGate: null as Promise<void> | null,
    releaseGate: null as Promise<void> | null,
  };
  const fail = (message: string, type: string) => ApplicationFailure.nonRetryable(message, type);
  const activities = {
    holdSeat: async (req: HoldRequest): Promise<ReservationView> => {
      const now = await env.currentTimeMs();
      state.held = {
        ...req,
        price: PRICE,
        status: 'HELD',
        heldUntil: new Date(now + HOLD_SECONDS * 1000).toISOString(),
      };
      return state.held;
    },
    releaseSeat: async (req: ReleaseRequest): Promise<ReservationView> => {
      state.releaseStarted.resolve();
      if (state.releaseGate) await state.releaseGate;
      state.releases.push(req);
      if (state.status === 'HELD') state.status = req.outcome;
      return { ...state.held!, status: state.status };
    },
    payReservation: async (req: PayRequest): Promise<PaymentView> => {
      state.payCalls += 1;
      const now = await env.currentTimeMs();
      if (state.status !== 'HELD' || now >= Date.parse(state.held!.heldUntil)) {
        throw fail('no longer held', ErrorType.RESERVATION_NOT_HELD);
      }
      if (state.balance < PRICE) throw fail('balance too low', ErrorType.INSUFFICIENT_BALANCE);
      state.balance -= PRICE;
      state.status = 'CONFIRMED';
      const payment: PaymentView = {
        paymentId: randomUUID(),
        reservationId: req.reservationId,
        reservationIds: [req.reservationId],
        amount: PRICE,
        balance: state.balance,
        paidAt: new Date(now).toISOString(),
      };
      state.payments.push(payment);
      // Committed; the answer may be slow to reach the workflow (a test holds it back).
      state.payStarted.resolve();
      if (state.payGate) await state.payGate;
      return payment;
    },
    markEntryCompleted: async ({ userId }: { userId: string }): Promise<string | null> => {
      state.completed.push(userId);
      return null;
    },
  };
  return { activities, state };
}

const failureType = (err: unknown): string | undefined => {
  let current: unknown = err;
  while (current) {
    if (current instanceof ApplicationFailure) return current.type ?? undefined;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
};

describe('paying a hold (time-skipping)', () => {
  let env: TestWorkflowEnvironment;

  beforeAll(async () => {
    env = await createTimeSkippingEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  /** Runs `body` with a worker on a fresh task queue, after holding seat 17 of a fresh concert. */
  async function withHold(
    activities: object,
    body: (ctx: {
      handle: WorkflowHandle<typeof reservationWorkflow>;
      view: ReservationView;
      pay: PayRequest;
    }) => Promise<void>,
  ): Promise<void> {
    await withTestWorker(env, { activities }, async (taskQueue) => {
      const request = holdRequest();
      const { view, handle } = await startHold(env.client, taskQueue, request);
      await body({ handle, view, pay: { reservationId: view.reservationId, userId: request.userId } });
    });
  }

  /** Polls the run's history until its hold timer has fired. */
  async function timerFired(handle: WorkflowHandle): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const history = await handle.fetchHistory();
      if (history.events?.some((e) => e.timerFiredEventAttributes)) return;
      // While an activity runs the test server does not skip time, so this is real time.
      await env.sleep(250);
    }
    throw new Error('the hold timer did not fire');
  }

  test('when the hold is paid before the timer, then it is CONFIRMED, the token is spent and the timer never releases it', async () => {
    const { activities, state } = fakeActivities(env);
    await withHold(activities, async ({ handle, view, pay }) => {
      await env.sleep((HOLD_SECONDS - 1) * 1000);
      const paid = await handle.executeUpdate(payUpdate, { args: [pay] });
      expect(paid).toMatchObject({ reservationId: view.reservationId, amount: PRICE, balance: 0 });
      const result = await handle.result();
      expect(result.reservation?.status).toBe('CONFIRMED');
      expect(result.payment).toEqual(paid);
      expect(state.completed).toEqual([pay.userId]);
      expect(state.releases).toEqual([]);
      // The run is over: nothing is left to release the seat later.
      await expect(handle.executeUpdate(payUpdate, { args: [pay] })).rejects.toBeInstanceOf(WorkflowNotFoundError);
      expect(state.releases).toEqual([]);
      expect(state.payCalls).toBe(1);
    });
  });

  test('when the timer fires first, then a payment arriving during the release is refused with RESERVATION_NOT_HELD and nothing is paid', async () => {
    const { activities, state } = fakeActivities(env);
    const releaseGate = deferred();
    state.releaseGate = releaseGate.promise;
    await withHold(activities, async ({ handle, pay }) => {
      await env.sleep(HOLD_SECONDS * 1000);
      await state.releaseStarted.promise;
      const update = await handle
        .startUpdate(payUpdate, { args: [pay], waitForStage: WorkflowUpdateStage.ACCEPTED })
        .finally(() => releaseGate.resolve());
      const refused = update.result();
      await expect(refused).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      expect(failureType(await refused.catch((e: unknown) => e))).toBe(ErrorType.RESERVATION_NOT_HELD);
      const result = await handle.result();
      expect(result.reservation?.status).toBe('EXPIRED');
      expect(result.payment).toBeNull();
      expect(state.payCalls).toBe(0);
      expect(state.balance).toBe(PRICE);
      expect(state.completed).toEqual([]);
    });
  });

  test('when a payment is under way as the timer fires, then the payment decides: CONFIRMED and no release', async () => {
    const { activities, state } = fakeActivities(env);
    const payGate = deferred();
    state.payGate = payGate.promise;
    await withHold(activities, async ({ handle, pay }) => {
      await env.sleep((HOLD_SECONDS - 1) * 1000);
      const update = await handle.startUpdate(payUpdate, { args: [pay], waitForStage: WorkflowUpdateStage.ACCEPTED });
      await state.payStarted.promise;
      try {
        await timerFired(handle);
      } finally {
        payGate.resolve();
      }
      const paid = await update.result();
      expect(paid.amount).toBe(PRICE);
      const result = await handle.result();
      expect(result.reservation?.status).toBe('CONFIRMED');
      expect(state.releases).toEqual([]);
    });
  });

  test('when the balance is short, then 402 leaves the hold in place; after a charge the payment succeeds within the hold', async () => {
    const { activities, state } = fakeActivities(env, { balance: PRICE - 1 });
    await withHold(activities, async ({ handle, view, pay }) => {
      const short = handle.executeUpdate(payUpdate, { args: [pay] });
      await expect(short).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      expect(failureType(await short.catch((e: unknown) => e))).toBe(ErrorType.INSUFFICIENT_BALANCE);

      // A minute later the seat is still held by the same run.
      await env.sleep(60_000);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      expect(await handle.query(reservationStateQuery)).toMatchObject({
        reservation: { status: 'HELD', reservationId: view.reservationId },
      });
      expect(state.releases).toEqual([]);

      state.balance += 1; // the user charges 1 won
      const paid = await handle.executeUpdate(payUpdate, { args: [pay] });
      expect(paid).toMatchObject({ amount: PRICE, balance: 0 });
      expect((await handle.result()).reservation?.status).toBe('CONFIRMED');
      expect(state.releases).toEqual([]);
      expect(state.payCalls).toBe(2);
    });
  });

  test('when a pay and a cancel arrive together, then exactly one of them takes effect', async () => {
    const { activities, state } = fakeActivities(env);
    await withHold(activities, async ({ handle, pay }) => {
      const [paid, cancelled] = await Promise.allSettled([
        handle.executeUpdate(payUpdate, { args: [pay] }),
        handle.executeUpdate(cancelUpdate, { args: [pay] }),
      ]);
      const result = await handle.result();
      if (paid.status === 'fulfilled') {
        expect(cancelled.status).toBe('rejected');
        expect(result.reservation?.status).toBe('CONFIRMED');
        expect(state.releases).toEqual([]);
      } else {
        expect(cancelled.status).toBe('fulfilled');
        expect(failureType(paid.reason)).toBe(ErrorType.RESERVATION_NOT_HELD);
        expect(result.reservation?.status).toBe('CANCELLED');
        // The pay may have reached its activity first and been refused there; nothing was paid either way.
        expect(state.payments).toEqual([]);
      }
      // Exactly one outcome: paid or released, never both (a local activity runs at least once, so
      // the double may record one release twice under load; the outcome is what counts).
      expect(state.payments.length + (state.releases.length > 0 ? 1 : 0)).toBe(1);
      expect(new Set(state.releases.map((r) => r.outcome)).size).toBeLessThanOrEqual(1);
    });
  });

  test('when 10 identical pay retries with one Idempotency-Key arrive together, then the activity runs once and all get the same payment', async () => {
    const { activities, state } = fakeActivities(env);
    await withHold(activities, async ({ handle, pay }) => {
      const keyed: PayRequest = { ...pay, idempotencyKey: 'retry-1', requestHash: 'h' };
      const results = await Promise.all(
        Array.from({ length: 10 }, () => handle.executeUpdate(payUpdate, { args: [keyed] })),
      );
      expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
      expect(state.payCalls).toBe(1);
      expect(state.payments).toHaveLength(1);
    });
  });
});
