import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager } from 'typeorm';
import { PerformanceLookup } from '../seats/performances';
import { effectiveView, loadReservation } from '../seats/reservation-view';
import { clearReservation, heldValue, markSeat, SOLD } from '../seats/seat-state';
import { ErrorType } from '../shared/errors';
import type { HoldRequest, ReleaseRequest, ReservationStatus, ReservationView, SeatStatus } from '../shared/types';
import type { ActivityDeps } from './deps';

interface LockedSeat {
  id: string;
  price: string;
  status: SeatStatus;
  reservation_id: string | null;
  hold_expires_at: Date | null;
}

interface ResultHeader {
  affectedRows: number;
}

const seatUnavailable = (request: HoldRequest): ApplicationFailure =>
  ApplicationFailure.nonRetryable(
    `Seat ${request.seatNo} on ${request.date} is not available`,
    ErrorType.SEAT_UNAVAILABLE,
  );

/** MySQL's "a foreign key names a missing row" (here: the user). */
const isMissingParent = (err: unknown): boolean => (err as { errno?: unknown }).errno === 1452;

/**
 * Seat hold and release, each one locked MySQL transaction (lock order seat → reservation).
 * The database guards every transition (status, reservation id, hold_expires_at), so even two
 * attempts that got past Temporal and Redis cannot both hold a seat, and a release can only
 * free the seat of its own reservation.
 */
export function createReservationActivities(deps: Pick<ActivityDeps, 'dataSource' | 'redis' | 'keys' | 'config'>) {
  const { dataSource, redis, keys, config } = deps;
  const performances = new PerformanceLookup(dataSource);

  // The pre-filter is an optimisation: a Redis failure must not fail a hold or release
  // whose MySQL transaction decided (a stale field lapses by its own time).
  const quietly = async (write: () => Promise<void>): Promise<void> => {
    try {
      await write();
    } catch {
      // ignored on purpose, see above
    }
  };

  async function holdInTransaction(
    tx: EntityManager,
    request: HoldRequest,
    performanceId: string,
  ): Promise<ReservationView> {
    const [seat] = await tx.query<LockedSeat[]>(
      `SELECT id, price, status, reservation_id, hold_expires_at
         FROM seats WHERE performance_id = ? AND seat_no = ? FOR UPDATE`,
      [performanceId, request.seatNo],
    );
    if (!seat) throw seatUnavailable(request);

    // A retry after a commit whose answer was lost finds its own reservation.
    const existing = await loadReservation(tx, request.reservationId);
    if (existing) return existing.view;

    const heldUntil = new Date(Date.now() + config.seatHoldSeconds * 1000);
    const updated = await tx.query<ResultHeader>(
      `UPDATE seats SET status = 'HELD', holder_user_id = ?, hold_expires_at = ?, reservation_id = ?
        WHERE id = ? AND (status = 'AVAILABLE' OR (status = 'HELD' AND hold_expires_at <= NOW(3)))`,
      [request.userId, heldUntil, request.reservationId, seat.id],
    );
    if (updated.affectedRows !== 1) {
      // Tell later racers early; written while the row lock is still ours, so a release
      // of that hold (which needs the lock) clears it after us, never before.
      const seen =
        seat.status === 'SOLD'
          ? SOLD
          : seat.reservation_id && seat.hold_expires_at
            ? heldValue(seat.reservation_id, seat.hold_expires_at.getTime())
            : null;
      if (seen)
        await quietly(() => markSeat(redis, keys.seatState(request.concertId, request.date), request.seatNo, seen));
      throw seatUnavailable(request);
    }
    if (seat.status === 'HELD' && seat.reservation_id) {
      // The seat was held by a lapsed reservation whose release has not run yet.
      await tx.query(`UPDATE reservations SET status = 'EXPIRED' WHERE id = ? AND status = 'HELD'`, [
        seat.reservation_id,
      ]);
    }
    try {
      await tx.query(
        `INSERT INTO reservations (id, user_id, seat_id, price, status, held_until) VALUES (?, ?, ?, ?, 'HELD', ?)`,
        [request.reservationId, request.userId, seat.id, seat.price, heldUntil],
      );
    } catch (err) {
      if (isMissingParent(err)) {
        throw ApplicationFailure.nonRetryable(`User ${request.userId} does not exist`, ErrorType.USER_NOT_FOUND);
      }
      throw err;
    }
    const view: ReservationView = {
      reservationId: request.reservationId,
      userId: request.userId,
      concertId: request.concertId,
      date: request.date,
      seatNo: request.seatNo,
      price: Number(seat.price),
      status: 'HELD',
      heldUntil: heldUntil.toISOString(),
    };
    return view;
  }

  return {
    /**
     * Holds the seat for `SEAT_HOLD_SECONDS`: locks the seat row, moves it to HELD if it is
     * free or its hold has lapsed, and inserts the reservation (id = `request.reservationId`,
     * so a retry returns the first result). Non-retryable `SEAT_UNAVAILABLE` when taken,
     * `CONCERT_NOT_FOUND` / `DATE_NOT_FOUND` for an unknown performance.
     */
    async holdSeat(request: HoldRequest): Promise<ReservationView> {
      const performanceId = await performances.require(request.concertId, request.date);
      const view = await dataSource.transaction('READ COMMITTED', (tx) =>
        holdInTransaction(tx, request, performanceId),
      );
      if (effectiveView(view).status === 'HELD') {
        const value = heldValue(view.reservationId, Date.parse(view.heldUntil));
        await quietly(() => markSeat(redis, keys.seatState(view.concertId, view.date), view.seatNo, value));
      }
      return view;
    },

    /**
     * Ends a hold: frees the seat only if this reservation still holds it, and moves a HELD
     * reservation to `outcome` (a cancel that arrives after `heldUntil` records EXPIRED, as the
     * reservation already reads). Idempotent: later calls change nothing and return the
     * reservation as stored.
     */
    async releaseSeat(request: ReleaseRequest): Promise<ReservationView> {
      const found = await loadReservation(dataSource, request.reservationId);
      if (!found) {
        throw ApplicationFailure.nonRetryable(
          `Reservation ${request.reservationId} does not exist`,
          ErrorType.RESERVATION_NOT_FOUND,
        );
      }
      const status = await dataSource.transaction('READ COMMITTED', async (tx): Promise<ReservationStatus> => {
        await tx.query('SELECT id FROM seats WHERE id = ? FOR UPDATE', [found.seatId]);
        const [row] = await tx.query<Array<{ status: ReservationStatus; lapsed: number | string }>>(
          'SELECT status, held_until <= NOW(3) AS lapsed FROM reservations WHERE id = ? FOR UPDATE',
          [request.reservationId],
        );
        await tx.query(
          `UPDATE seats SET status = 'AVAILABLE', holder_user_id = NULL, hold_expires_at = NULL, reservation_id = NULL
            WHERE id = ? AND reservation_id = ? AND status = 'HELD'`,
          [found.seatId, request.reservationId],
        );
        if (row?.status !== 'HELD') return row?.status ?? found.view.status;
        const next = request.outcome === 'CANCELLED' && Number(row.lapsed) === 1 ? 'EXPIRED' : request.outcome;
        await tx.query('UPDATE reservations SET status = ? WHERE id = ? AND status = ?', [
          next,
          request.reservationId,
          'HELD',
        ]);
        return next;
      });
      const { concertId, date, seatNo } = found.view;
      await quietly(() => clearReservation(redis, keys.seatState(concertId, date), seatNo, request.reservationId));
      return { ...found.view, status };
    },
  };
}
