import type { DataSource, EntityManager } from 'typeorm';
import type { ResultHeader } from '../db/sql';
import { inTransaction, isMissingParent } from '../db/sql';
import { holdLimitReached, reservationNotFound, seatUnavailable } from '../shared/errors';
import type { HoldRequest, ReservationStatus, ReservationView, SeatStatus } from '../shared/types';
import { loadReservation } from './reservations';

/**
 * Seat holds and releases in MySQL, each one locked transaction. Lock order everywhere: seat →
 * reservation → user (payments take all their seats first, sorted by id), so no two of them wait
 * on each other in a cycle. The database guards every transition (status, reservation id, the
 * hold's end), so even two attempts that got past Temporal and Redis cannot both hold a seat, and
 * a release only ever frees the seat of its own reservation. Every time compared is a UTC value
 * passed in from here, never the server's NOW().
 */

export interface HoldRules {
  seatHoldSeconds: number;
  maxHoldsPerUser: number;
}

/** A seat found taken: what MySQL holds it as (for the pre-filter). */
export interface TakenSeat {
  sold: boolean;
  reservationId: string | null;
  heldUntilMs: number | null;
}

interface LockedSeat {
  id: string;
  price: string;
  status: SeatStatus;
  reservation_id: string | null;
  hold_expires_at: Date | null;
}

/** The hold's outcome: the reservation, or the seat as it was found taken. */
export type HoldOutcome = { held: ReservationView } | { taken: TakenSeat };

async function holdInTransaction(
  tx: EntityManager,
  request: HoldRequest,
  performanceId: string,
  rules: HoldRules,
  now: Date,
): Promise<HoldOutcome> {
  const [seat] = await tx.query<LockedSeat[]>(
    `SELECT id, price, status, reservation_id, hold_expires_at
       FROM seats WHERE performance_id = ? AND seat_no = ? FOR UPDATE`,
    [performanceId, request.seatNo],
  );
  if (!seat) throw seatUnavailable(request.date, request.seatNo);

  // A retry after a commit whose answer was lost finds its own reservation.
  const existing = await loadReservation(tx, request.reservationId);
  if (existing) return { held: existing.view };

  const free =
    seat.status === 'AVAILABLE' || (seat.status === 'HELD' && (seat.hold_expires_at?.getTime() ?? 0) <= now.getTime());
  if (!free) {
    return {
      taken: {
        sold: seat.status === 'SOLD',
        reservationId: seat.reservation_id,
        heldUntilMs: seat.hold_expires_at?.getTime() ?? null,
      },
    };
  }
  // The user row, created on first need and locked: holds of one user are counted one at a
  // time, so the limit is exact however many API processes race.
  await tx.query('INSERT INTO users (id) VALUES (?) ON DUPLICATE KEY UPDATE id = id', [request.userId]);
  const [{ holds } = { holds: 0 }] = await tx.query<Array<{ holds: number | string }>>(
    `SELECT COUNT(*) AS holds FROM reservations WHERE user_id = ? AND status = 'HELD' AND held_until > ?`,
    [request.userId, now],
  );
  if (Number(holds) >= rules.maxHoldsPerUser) throw holdLimitReached(rules.maxHoldsPerUser);

  const heldUntil = new Date(now.getTime() + rules.seatHoldSeconds * 1000);
  const updated = await tx.query<ResultHeader>(
    `UPDATE seats SET status = 'HELD', holder_user_id = ?, hold_expires_at = ?, reservation_id = ?
      WHERE id = ? AND (status = 'AVAILABLE' OR (status = 'HELD' AND hold_expires_at <= ?))`,
    [request.userId, heldUntil, request.reservationId, seat.id, now],
  );
  if (updated.affectedRows !== 1) throw seatUnavailable(request.date, request.seatNo);
  if (seat.status === 'HELD' && seat.reservation_id) {
    // The seat was held by a lapsed reservation whose release has not run yet.
    await tx.query(`UPDATE reservations SET status = 'EXPIRED' WHERE id = ? AND status = 'HELD'`, [
      seat.reservation_id,
    ]);
  }
  await tx.query(
    `INSERT INTO reservations (id, user_id, seat_id, price, status, held_until, created_at)
     VALUES (?, ?, ?, ?, 'HELD', ?, ?)`,
    [request.reservationId, request.userId, seat.id, seat.price, heldUntil, now],
  );
  return {
    held: {
      reservationId: request.reservationId,
      userId: request.userId,
      concertId: request.concertId,
      date: request.date,
      seatNo: request.seatNo,
      price: Number(seat.price),
      status: 'HELD',
      heldUntil: heldUntil.toISOString(),
    },
  };
}

/**
 * Holds the seat for `rules.seatHoldSeconds`: locks the seat row, and if it is free (or its
 * hold has lapsed) and the user holds fewer than `rules.maxHoldsPerUser` seats, moves it to
 * HELD and inserts the reservation (id = `request.reservationId`, so a retry returns the first
 * result). Answers `{ taken }` when the seat is not free; `HOLD_LIMIT_REACHED` beyond the limit.
 */
export async function holdSeat(
  dataSource: DataSource,
  request: HoldRequest,
  performanceId: string,
  rules: HoldRules,
  now = new Date(),
): Promise<HoldOutcome> {
  try {
    return await inTransaction(dataSource, (tx) => holdInTransaction(tx, request, performanceId, rules, now));
  } catch (err) {
    // The user row is created in the transaction, so a missing parent is the seat's performance gone.
    if (isMissingParent(err)) throw seatUnavailable(request.date, request.seatNo);
    throw err;
  }
}

/**
 * Ends a hold: frees the seat only if this reservation still holds it, and moves a HELD
 * reservation to `outcome` (a cancel that arrives after `heldUntil` records EXPIRED, as the
 * reservation already reads). Idempotent: later calls change nothing and return the
 * reservation as stored (CONFIRMED if a payment won).
 */
export async function releaseReservation(
  dataSource: DataSource,
  reservationId: string,
  outcome: 'EXPIRED' | 'CANCELLED',
  now = new Date(),
): Promise<ReservationView> {
  const found = await loadReservation(dataSource, reservationId);
  if (!found) throw reservationNotFound();
  const status = await inTransaction(dataSource, async (tx): Promise<ReservationStatus> => {
    await tx.query('SELECT id FROM seats WHERE id = ? FOR UPDATE', [found.seatId]);
    const [row] = await tx.query<Array<{ status: ReservationStatus; held_until: Date }>>(
      'SELECT status, held_until FROM reservations WHERE id = ? FOR UPDATE',
      [reservationId],
    );
    if (row?.status !== 'HELD') return row?.status ?? found.view.status;
    await tx.query(
      `UPDATE seats SET status = 'AVAILABLE', holder_user_id = NULL, hold_expires_at = NULL, reservation_id = NULL
        WHERE id = ? AND reservation_id = ? AND status = 'HELD'`,
      [found.seatId, reservationId],
    );
    const next = outcome === 'CANCELLED' && row.held_until.getTime() <= now.getTime() ? 'EXPIRED' : outcome;
    await tx.query('UPDATE reservations SET status = ? WHERE id = ? AND status = ?', [next, reservationId, 'HELD']);
    return next;
  });
  return { ...found.view, status };
}
