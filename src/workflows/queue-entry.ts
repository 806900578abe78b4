import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
} from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import type { Activities } from '../activities';
import { admitSignal, checkoutUpdate, completeSignal, entryStateQuery, settledSignal } from '../shared/definitions';
import { entrySuperseded, reservationNotHeld, tokenNotActive } from '../shared/errors';
import { reservationWorkflowId } from '../shared/ids';
import { SA } from '../shared/search-attributes';
import { TOKEN_LIFETIME_SECONDS } from '../shared/types';
import type {
  AdmitSignal,
  CheckoutRequest,
  CheckoutResult,
  PaymentView,
  QueueEntryInput,
  QueueEntryState,
  QueueStatus,
} from '../shared/types';

const { finishEntry } = proxyActivities<Activities>({
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '200 ms', maximumInterval: '5 seconds' },
});

// The `checkout` update serves API processes of the previous version during a rolling deploy
// (today's API runs the same transaction itself and then signals `complete`). It runs in the
// worker that handles the update's workflow task, and its result is recorded in history.
const { checkout } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '100 ms', maximumInterval: '1 second', maximumAttempts: 5 },
});

/**
 * One admitted user's entry (id `queue-entry:<userId>`), started by the admission tick with the
 * active window in its input. It holds the slot until the window ends (a hold moves the end to
 * the hold's `heldUntil`: the timer then asks Redis and sleeps on), or until the user pays
 * (the API spends the token, frees the slot and signals `complete`); either way the slot is freed. A run of
 * an older entry that is still ending when the user is admitted again hands over to the new
 * entry by continuing as new.
 */
export async function queueEntryWorkflow(input: QueueEntryInput): Promise<QueueEntryState> {
  let status: QueueStatus = input.activeUntil === undefined ? 'WAITING' : 'ACTIVE';
  let activeUntil: number | null = input.activeUntil ?? null;
  /** The payment was made outside this run (v1: by a reservation workflow; now: by the API). */
  let completedBySignal = false;
  let checkedOut: CheckoutResult | null = null;
  let checkoutKey: string | undefined;
  let next: AdmitSignal | null = null;
  const lock = new Mutex();

  const state = (): QueueEntryState => ({
    userId: input.userId,
    tokenId: input.tokenId,
    status,
    activeUntil: activeUntil === null ? null : new Date(activeUntil).toISOString(),
  });
  const setStatus = (to: QueueStatus): void => {
    status = to;
    upsertSearchAttributes([{ key: SA.queueStatus, value: to }]);
  };
  const ended = (): boolean => completedBySignal || checkedOut !== null;

  setHandler(entryStateQuery, state);
  setHandler(admitSignal, (admit) => {
    if (admit.tokenId !== input.tokenId) {
      // A later admission of the same user (v1 runs ignore other tokens, as they always did).
      if (input.activeUntil !== undefined && admit.activeUntil > (next?.activeUntil ?? input.activeUntil)) next = admit;
    } else if (status === 'WAITING') {
      activeUntil = admit.activeUntil;
      setStatus('ACTIVE');
    }
  });
  setHandler(completeSignal, ({ tokenId }) => {
    if (tokenId === input.tokenId) completedBySignal = true;
  });
  setHandler(
    checkoutUpdate,
    (request) =>
      lock.runExclusive(async (): Promise<PaymentView> => {
        if (checkedOut) {
          // The token is spent; only a retry of the payment that spent it gets its answer again.
          if (request.idempotencyKey !== undefined && request.idempotencyKey === checkoutKey) return checkedOut.payment;
          throw reservationNotHeld();
        }
        if (status !== 'ACTIVE') throw tokenNotActive(status);
        // The id is fixed before the transaction, so a retry of a committed attempt is recognised.
        const result = await checkout({ ...request, paymentId: uuid4() });
        checkedOut = result;
        checkoutKey = request.idempotencyKey;
        return result.payment;
      }),
    {
      validator: (request: CheckoutRequest) => {
        if (request.tokenId !== input.tokenId) throw entrySuperseded();
      },
    },
  );

  upsertSearchAttributes([
    { key: SA.userId, value: input.userId },
    { key: SA.queueStatus, value: status },
  ]);

  if (input.activeUntil === undefined) {
    // v1 runs (started at token time, admitted by signal): the steps they recorded, unchanged.
    const admitted = await condition(() => status === 'ACTIVE' || ended(), TOKEN_LIFETIME_SECONDS * 1000);
    if (admitted && !ended() && activeUntil !== null) await condition(ended, Math.max(1, activeUntil - Date.now()));
    if (!checkedOut) {
      setStatus(completedBySignal ? 'COMPLETED' : 'EXPIRED');
      await finishEntry({
        userId: input.userId,
        tokenId: input.tokenId,
        status: completedBySignal ? 'COMPLETED' : 'EXPIRED',
      });
    }
  } else {
    while (!ended()) {
      if (await condition(ended, Math.max(1, (activeUntil ?? 0) - Date.now()))) break;
      // The window's end: unless a hold has moved it (Redis knows), the entry expires now. A
      // checkout under way finishes first and decides.
      const finished = await lock.runExclusive(async () =>
        ended() ? null : finishEntry({ userId: input.userId, tokenId: input.tokenId, status: 'EXPIRED' }),
      );
      if (finished && !finished.ended) {
        activeUntil = finished.activeUntil;
      } else if (finished) {
        setStatus('EXPIRED');
        break;
      }
    }
  }
  const done = checkedOut as CheckoutResult | null;
  // The API ran the checkout itself and said so (v2 runs; v1 runs handled it above).
  if (!done && completedBySignal && input.activeUntil !== undefined) setStatus('COMPLETED');
  if (done) {
    setStatus('COMPLETED');
    // After the payer has its answer: each reservation workflow learns what the checkout
    // decided, so its timer releases nothing (MySQL already guards that).
    await Promise.all(done.settled.map((seat) => tellReservation(seat.concertId, seat.date, seat.seatNo, seat)));
  }
  await condition(allHandlersFinished);
  const handover = next as AdmitSignal | null;
  if (handover) {
    await continueAsNew<typeof queueEntryWorkflow>({
      userId: input.userId,
      tokenId: handover.tokenId,
      activeUntil: handover.activeUntil,
    });
  }
  return state();
}

async function tellReservation(
  concertId: string,
  date: string,
  seatNo: number,
  settlement: { reservationId: string; outcome: 'CONFIRMED' | 'CANCELLED' },
): Promise<void> {
  try {
    await getExternalWorkflowHandle(reservationWorkflowId(concertId, date, seatNo)).signal(settledSignal, {
      reservationId: settlement.reservationId,
      outcome: settlement.outcome,
    });
  } catch (err) {
    // The run has ended already (released by its own timer); MySQL holds the outcome.
    log.info('reservation workflow not signalled', { reservationId: settlement.reservationId, error: String(err) });
  }
}
