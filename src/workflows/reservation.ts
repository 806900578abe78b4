import {
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import { Mutex } from 'async-mutex';
import type { Activities } from '../activities';
import {
  cancelUpdate,
  completeSignal,
  holdUpdate,
  payUpdate,
  reservationStateQuery,
  settledSignal,
} from '../shared/definitions';
import { ErrorType, reservationNotHeld, seatUnavailable } from '../shared/errors';
import { queueEntryWorkflowId } from '../shared/ids';
import { SA } from '../shared/search-attributes';
import type {
  HoldRequest,
  PaymentView,
  ReleaseRequest,
  ReservationView,
  ReservationWorkflowInput,
  ReservationWorkflowState,
} from '../shared/types';

const dbRetry: RetryPolicy = {
  initialInterval: '100 ms',
  maximumInterval: '2 seconds',
  nonRetryableErrorTypes: Object.values(ErrorType),
};

const remote = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', retry: dbRetry });
// Holds and releases run in the worker that handles the workflow task: one task-queue round trip
// fewer for a user waiting on a hold, and a lapsing hold is released within the timer's task.
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { ...dbRetry, maximumAttempts: 10 },
});
// v1 runs only (see payUpdate).
const { markEntryCompleted } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '100 ms', maximumInterval: '2 seconds' },
});

/**
 * Patch: runs recorded before it ran holds and releases as (remote) activities, and kept their
 * handlers apart with a flag that lets the first handler start its activity in the same
 * activation (the mutex takes a microtask, which orders commands differently).
 */
export const LOCAL_SEAT_STEPS = 'reservation-local-seat-steps';
/** Patch: runs recorded before it timed the hold from `heldUntil − Date.now()` (see HeldSeat). */
export const TIMER_FROM_HOLD_STEP = 'reservation-timer-from-hold-step';

/**
 * One run per hold of one seat (id `reservation:<concertId>:<date>:<seatNo>`). The `hold`
 * update (sent with update-with-start) marks the seat HELD in MySQL and returns; the run then
 * waits for a `cancel`, for the checkout of its user to settle it, or for its durable timer at
 * `heldUntil`, whichever comes first. Handlers and the timer's release take one lock, so they
 * run one at a time; MySQL guards each transition again, so a payment and a lapsing hold always
 * resolve to exactly one outcome.
 */
export async function reservationWorkflow(input: ReservationWorkflowInput): Promise<ReservationWorkflowState> {
  const current = patched(LOCAL_SEAT_STEPS);
  const { holdSeat, releaseSeat } = current ? local : remote;
  let reservation: ReservationView | null = null;
  /** What the hold step said was left of the hold, when it said so. */
  let remainingMs: number | undefined;
  let payment: PaymentView | null = null;
  let paymentKey: string | undefined;
  let claimed = false;
  let holdFailed = false;
  let ended = false;
  let spentToken: { userId: string; tokenId: string } | null = null;
  const lock = new Mutex();
  let busy = false;
  /** Runs `fn` with no other handler or release running (the flag only replays v1 runs). */
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (current) return lock.runExclusive(fn);
    while (busy) await condition(() => !busy);
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  };

  const setStatus = (view: ReservationView): void => {
    reservation = view;
    upsertSearchAttributes([{ key: SA.reservationStatus, value: view.status }]);
  };
  const release = async (outcome: ReleaseRequest['outcome']): Promise<ReservationView> => {
    const held = reservation as ReservationView;
    const released = await releaseSeat({ reservationId: held.reservationId, outcome });
    ended = true;
    setStatus(released);
    return released;
  };
  const settledHold = (): Promise<void> => condition(() => reservation !== null || holdFailed);

  setHandler(reservationStateQuery, () => ({ reservation, payment }));

  setHandler(
    holdUpdate,
    async (request) => {
      claimed = true;
      try {
        const { remainingMs: left, ...view } = await holdSeat(request);
        remainingMs = left;
        upsertSearchAttributes([{ key: SA.userId, value: view.userId }]);
        setStatus(view);
        return view;
      } catch (err) {
        holdFailed = true;
        throw err;
      }
    },
    {
      validator: (request: HoldRequest) => {
        if (request.concertId !== input.concertId || request.date !== input.date || request.seatNo !== input.seatNo) {
          throw new Error('hold request does not match this seat');
        }
        // A second hold on a seat that this run already holds (or is holding) is refused here,
        // before any activity or database work.
        if (claimed) throw seatUnavailable(input.date, input.seatNo);
      },
    },
  );

  setHandler(cancelUpdate, async (request) => {
    // A cancel may arrive while the hold it names is still being written (the API cancels a
    // hold whose answer it could not deliver): let the hold settle first.
    await settledHold();
    return exclusive(async () => {
      if (!reservation || ended || request.reservationId !== reservation.reservationId) throw reservationNotHeld();
      const released = await release('CANCELLED');
      if (released.status !== 'CANCELLED') throw reservationNotHeld();
      return released;
    });
  });

  setHandler(settledSignal, ({ reservationId, outcome }) => {
    const held = reservation;
    if (!held || ended || held.reservationId !== reservationId) return;
    ended = true;
    setStatus({ ...held, status: outcome });
  });

  // v1: the API paid one reservation through its own workflow. Runs started before checkout
  // moved to the entry workflow may still get it; the steps they recorded are kept unchanged.
  setHandler(payUpdate, (request) =>
    exclusive(async () => {
      if (payment) {
        if (request.idempotencyKey !== undefined && request.idempotencyKey === paymentKey) return payment;
        throw reservationNotHeld();
      }
      if (!reservation || ended || request.reservationId !== reservation.reservationId) throw reservationNotHeld();
      const paid = await remote.payReservation(request);
      payment = paid;
      paymentKey = request.idempotencyKey;
      ended = true;
      setStatus({ ...reservation, status: 'CONFIRMED' });
      const tokenId = await markEntryCompleted({ userId: request.userId });
      if (tokenId) spentToken = { userId: request.userId, tokenId };
      return paid;
    }),
  );

  upsertSearchAttributes([
    { key: SA.concertId, value: input.concertId },
    { key: SA.concertDate, value: input.date },
    { key: SA.seatNo, value: input.seatNo },
  ]);

  await settledHold();
  const held = reservation as ReservationView | null;
  if (held) {
    const lapsesIn =
      remainingMs !== undefined && patched(TIMER_FROM_HOLD_STEP)
        ? remainingMs
        : Date.parse(held.heldUntil) - Date.now();
    const settled = await condition(() => ended, Math.max(1, lapsesIn));
    // The hold lapsed; a handler already under way finishes first and decides.
    if (!settled) await exclusive(async () => (ended ? undefined : release('EXPIRED')));
  }
  await condition(allHandlersFinished);
  const spent = spentToken as { userId: string; tokenId: string } | null;
  if (spent) await signalEntryCompleted(spent.userId, spent.tokenId);
  return { reservation, payment };
}

/** v1: tells the queue entry its user paid (Redis already says COMPLETED). */
async function signalEntryCompleted(userId: string, tokenId: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(queueEntryWorkflowId(userId)).signal(completeSignal, { tokenId });
  } catch (err) {
    log.warn('queue entry not signalled', { userId, error: String(err) });
  }
}
