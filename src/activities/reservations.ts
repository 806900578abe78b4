import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { checkout } from '../money/payment';
import { holdSeat, releaseReservation } from '../seats/holds';
import { assertOnSale } from '../seats/performances';
import { heldValue, SeatState, SOLD } from '../seats/seat-state';
import type { Services } from '../services';
import { seatUnavailable } from '../shared/errors';
import type { HeldSeat, HoldRequest, PaymentView, PayRequest, ReleaseRequest, ReservationView } from '../shared/types';

/** A UUID fixed for this activity (the same in every retry of it), from its run and activity ids. */
function attemptScopedId(): string {
  const { workflowExecution, activityId } = Context.current().info;
  const hex = createHash('sha256')
    .update(`${workflowExecution?.runId ?? ''}/${activityId}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Seat holds and releases (one locked MySQL transaction each, src/seats/holds.ts) plus the Redis follow-ups. */
export function createReservationActivities(services: Services) {
  const { dataSource, seatState, performances, queue, config } = services;
  const rules = { seatHoldSeconds: config.seatHoldSeconds, maxHoldsPerUser: config.maxHoldsPerUser };

  return {
    /**
     * Holds the seat for `SEAT_HOLD_SECONDS` (see {@link holdSeat}), marks it in the pre-filter
     * and keeps the user admitted at least until the hold lapses, so it can always be paid.
     * Non-retryable `SEAT_UNAVAILABLE`, `HOLD_LIMIT_REACHED`, `SALES_CLOSED`,
     * `CONCERT_NOT_FOUND` / `DATE_NOT_FOUND`.
     */
    async holdSeat(request: HoldRequest): Promise<HeldSeat> {
      assertOnSale(request.date);
      const performanceId = await performances.require(request.concertId, request.date);
      const outcome = await holdSeat(dataSource, request, performanceId, rules);
      if ('taken' in outcome) {
        // Tell later racers early. A release of that hold clears the field after us (it needs
        // the row lock we just gave up and runs after), never before.
        const { sold, reservationId, heldUntilMs } = outcome.taken;
        const seen = sold ? SOLD : reservationId && heldUntilMs ? heldValue(reservationId, heldUntilMs) : null;
        if (seen) await SeatState.quietly(() => seatState.mark(request, seen));
        throw seatUnavailable(request.date, request.seatNo);
      }
      const view = outcome.held;
      const heldUntil = Date.parse(view.heldUntil);
      if (view.status === 'HELD' && heldUntil > Date.now()) {
        await SeatState.quietly(() => seatState.mark(view, heldValue(view.reservationId, heldUntil)));
        await queue.extend(view.userId, heldUntil);
      }
      return { ...view, remainingMs: heldUntil - Date.now() };
    },

    /** Ends a hold (see {@link releaseReservation}) and clears the pre-filter field that names it. */
    async releaseSeat(request: ReleaseRequest): Promise<ReservationView> {
      const view = await releaseReservation(dataSource, request.reservationId, request.outcome);
      await SeatState.quietly(() => seatState.clearReservation(view, request.reservationId));
      return view;
    },

    /** v1 runs: pays one reservation (a checkout of one, judged now), as the old `pay` update did. */
    async payReservation(request: PayRequest): Promise<PaymentView> {
      const { payment, settled } = await checkout(dataSource, {
        userId: request.userId,
        reservationIds: [request.reservationId],
        arrivedAt: Date.now(),
        paymentId: attemptScopedId(),
        ...(request.idempotencyKey
          ? { idempotencyKey: request.idempotencyKey, requestHash: request.requestHash ?? '' }
          : {}),
      });
      await SeatState.quietly(() => seatState.settle(settled));
      return payment;
    },
  };
}
