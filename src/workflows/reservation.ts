import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createPaymentActivities } from '../activities/payments';
import type { createQueueActivities } from '../activities/queue';
import type { createReservationActivities } from '../activities/reservations';
import { cancelUpdate, completeSignal, holdUpdate, payUpdate, reservationStateQuery } from '../shared/definitions';
import { ErrorType } from '../shared/errors';
import { queueEntryWorkflowId } from '../shared/ids';
import { SA } from '../shared/search-attributes';
import type {
  HoldRequest,
  PaymentView,
  ReservationView,
  ReservationWorkflowInput,
  ReservationWorkflowState,
} from '../shared/types';

type Activities = ReturnType<typeof createReservationActivities> &
  ReturnType<typeof createPaymentActivities> &
  ReturnType<typeof createQueueActivities>;

const nonRetryableErrorTypes = Object.values(ErrorType);

const { holdSeat, releaseSeat, payReservation } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '100 ms', maximumInterval: '2 seconds', nonRetryableErrorTypes },
});

// One Redis script on the payer's critical path: run in the worker that handles the workflow
// task, without another round trip through the task queue (its result is still in history).
const { markEntryCompleted } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '100 ms', maximumInterval: '2 seconds' },
});

const notHeld = (): ApplicationFailure =>
  ApplicationFailure.nonRetryable('The reservation is no longer held', ErrorType.RESERVATION_NOT_HELD);

/**
 * One run per hold of one seat (id `reservation:<concertId>:<date>:<seatNo>`). The `hold`
 * update (sent with update-with-start) marks the seat HELD in MySQL and returns; the run
 * then waits for `pay`, `cancel` or its durable timer at `heldUntil`, whichever comes first,
 * and only one of them can change the reservation: they run one at a time, and the
 * database guards each transition again.
 */
export async function reservationWorkflow(input: ReservationWorkflowInput): Promise<ReservationWorkflowState> {
  let reservation: ReservationView | null = null;
  let payment: PaymentView | null = null;
  let paymentKey: string | undefined;
  let claimed = false;
  let holdFailed = false;
  let busy = false;
  let ended = false;
  let spentToken: { userId: string; tokenId: string } | null = null;

  const setStatus = (view: ReservationView): void => {
    reservation = view;
    upsertSearchAttributes([{ key: SA.reservationStatus, value: view.status }]);
  };

  setHandler(reservationStateQuery, () => ({ reservation, payment }));

  setHandler(
    holdUpdate,
    async (request) => {
      claimed = true;
      try {
        const view = await holdSeat(request);
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
        // A second hold on a seat that this run already holds (or is holding) is refused
        // here, before any activity or database work.
        if (claimed) {
          throw ApplicationFailure.nonRetryable('The seat is held by someone else', ErrorType.SEAT_UNAVAILABLE);
        }
      },
    },
  );

  setHandler(payUpdate, async (request) => {
    // Wait for no pay, cancel or release to be running, then take `busy` with no await in
    // between: one wake-up resumes every waiter, so each must look at `busy` again.
    while (busy) await condition(() => !busy);
    if (payment) {
      if (request.idempotencyKey !== undefined && request.idempotencyKey === paymentKey) return payment;
      throw notHeld();
    }
    if (!reservation || ended || request.reservationId !== reservation.reservationId) throw notHeld();
    busy = true;
    try {
      const paid = await payReservation(request);
      payment = paid;
      paymentKey = request.idempotencyKey;
      ended = true;
      setStatus({ ...reservation, status: 'CONFIRMED' });
      // The token is spent before the client hears 201, so its next funnel call gets 403.
      const tokenId = await markEntryCompleted({ userId: request.userId });
      if (tokenId) spentToken = { userId: request.userId, tokenId };
      return paid;
    } finally {
      busy = false;
    }
  });

  setHandler(cancelUpdate, async (request) => {
    // A cancel may arrive while the hold it names is still being written (the API cancels a
    // hold whose answer it could not deliver): let the hold settle first.
    await condition(() => reservation !== null || holdFailed);
    while (busy) await condition(() => !busy);
    if (!reservation || ended || request.reservationId !== reservation.reservationId) throw notHeld();
    busy = true;
    try {
      const released = await releaseSeat({ reservationId: request.reservationId, outcome: 'CANCELLED' });
      ended = true;
      setStatus(released);
      if (released.status !== 'CANCELLED') throw notHeld();
      return released;
    } finally {
      busy = false;
    }
  });

  upsertSearchAttributes([
    { key: SA.concertId, value: input.concertId },
    { key: SA.concertDate, value: input.date },
    { key: SA.seatNo, value: input.seatNo },
  ]);

  await condition(() => reservation !== null || holdFailed);
  const held = reservation as ReservationView | null;
  if (held) {
    const msLeft = Date.parse(held.heldUntil) - Date.now();
    const settled = await condition(() => ended, Math.max(1, msLeft));
    if (!settled) {
      // The hold lapsed; a payment already under way finishes first and decides.
      while (busy) await condition(() => !busy);
      if (!ended) {
        busy = true;
        setStatus(await releaseSeat({ reservationId: held.reservationId, outcome: 'EXPIRED' }));
        ended = true;
        busy = false;
      }
    }
  }
  await condition(allHandlersFinished);
  // The payer already has its answer; the queue entry learns it is done afterwards (its Redis
  // state already says COMPLETED), so the signal is not on the payment's critical path.
  const spent = spentToken as { userId: string; tokenId: string } | null;
  if (spent) await signalEntryCompleted(spent.userId, spent.tokenId);
  return { reservation, payment };
}

async function signalEntryCompleted(userId: string, tokenId: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(queueEntryWorkflowId(userId)).signal(completeSignal, { tokenId });
  } catch (err) {
    // The entry may already have ended (expired); Redis already says COMPLETED.
    log.warn('queue entry not signalled', { userId, error: String(err) });
  }
}
