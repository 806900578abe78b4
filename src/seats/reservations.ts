import type { Queryable } from '../db/sql';
import type { ReservationStatus, ReservationView, SeatOfReservation } from '../shared/types';

/** Every read of the `reservations` table family (joined to seat and performance). */

interface ReservationRow {
  id: string;
  user_id: string;
  seat_id: string | number;
  price: string;
  status: ReservationStatus;
  held_until: Date;
  seat_no: number | string;
  concert_id: string;
  date: string;
}

const SELECT_RESERVATION = `SELECT r.id, r.user_id, r.seat_id, r.price, r.status, r.held_until, s.seat_no, p.concert_id, p.date
       FROM reservations r
       JOIN seats s ON s.id = r.seat_id
       JOIN performances p ON p.id = s.performance_id`;

const toView = (row: ReservationRow): ReservationView => ({
  reservationId: row.id,
  userId: row.user_id,
  concertId: row.concert_id,
  date: row.date,
  seatNo: Number(row.seat_no),
  price: Number(row.price),
  status: row.status,
  heldUntil: row.held_until.toISOString(),
});

/** A reservation as stored, with the seat row it sits on. */
export interface StoredReservation {
  view: ReservationView;
  seatId: string;
}

/** Reads one reservation (a plain read, no locks), or null. */
export async function loadReservation(db: Queryable, reservationId: string): Promise<StoredReservation | null> {
  const [row] = await db.query<ReservationRow[]>(`${SELECT_RESERVATION} WHERE r.id = ?`, [reservationId]);
  return row ? { view: toView(row), seatId: String(row.seat_id) } : null;
}

/** Several reservations by id (plain read), in no particular order; unknown ids are absent. */
export async function loadReservations(db: Queryable, reservationIds: readonly string[]): Promise<StoredReservation[]> {
  if (reservationIds.length === 0) return [];
  const rows = await db.query<ReservationRow[]>(
    `${SELECT_RESERVATION} WHERE r.id IN (${reservationIds.map(() => '?').join(', ')})`,
    [...reservationIds],
  );
  return rows.map((row) => ({ view: toView(row), seatId: String(row.seat_id) }));
}

/** The user's reservations that are HELD and not lapsed at `now` (plain read). */
export async function liveHolds(db: Queryable, userId: string, now: Date): Promise<StoredReservation[]> {
  const rows = await db.query<ReservationRow[]>(
    `${SELECT_RESERVATION} WHERE r.user_id = ? AND r.status = 'HELD' AND r.held_until > ?`,
    [userId, now],
  );
  return rows.map((row) => ({ view: toView(row), seatId: String(row.seat_id) }));
}

/** Where each reservation's workflow lives (its seat). */
export const seatOf = ({ reservationId, concertId, date, seatNo }: ReservationView): SeatOfReservation => ({
  reservationId,
  concertId,
  date,
  seatNo,
});

/** API.md: from `heldUntil` on, an unpaid hold reads EXPIRED, even before the release has run. */
export function effectiveView(view: ReservationView, nowMs = Date.now()): ReservationView {
  return view.status === 'HELD' && Date.parse(view.heldUntil) <= nowMs ? { ...view, status: 'EXPIRED' } : view;
}
