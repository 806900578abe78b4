import { payHeldReservation } from '../money/payment';
import { markSeat, SOLD } from '../seats/seat-state';
import type { PaymentView, PayRequest } from '../shared/types';
import type { ActivityDeps } from './deps';

/** Payment of a held reservation: one locked MySQL transaction. */
export function createPaymentActivities(deps: Pick<ActivityDeps, 'dataSource' | 'redis' | 'keys' | 'config'>) {
  const { dataSource, redis, keys } = deps;
  return {
    /**
     * Pays the held reservation (see {@link payHeldReservation}), then marks the seat sold in
     * the Redis pre-filter. Idempotent under activity retries: a retry with the same
     * Idempotency-Key replays the stored result, and one without a key finds the payment its
     * earlier attempt committed.
     */
    async payReservation(request: PayRequest): Promise<PaymentView> {
      const { payment, seat } = await payHeldReservation(dataSource, request);
      try {
        await markSeat(redis, keys.seatState(seat.concertId, seat.date), seat.seatNo, SOLD);
      } catch {
        // The pre-filter only turns requests away early; MySQL has the seat SOLD, so a
        // stale field costs one refused hold at most, and that hold writes `sold` back.
      }
      return payment;
    },
  };
}
