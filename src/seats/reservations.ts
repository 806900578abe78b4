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

/** One page of a user's reservations, newest first; `nextCursor` is null on the last page. */
export interface ReservationPage {
  reservations: ReservationView[];
  nextCursor: string | null;
}

/**
 * The user's reservations, newest first, each with its effective status (a lapsed hold reads
 * EXPIRED), for `GET /v1/me/reservations`. The cursor is the id of the last reservation of the
 * previous page: "older" is (created_at, id) below that one's, served by idx_reservations_user.
 */
export async function listUserReservations(
  db: Queryable,
  userId: string,
  { limit, before }: { limit: number; before?: string },
): Promise<ReservationPage> {
  const rows = await db.query<ReservationRow[]>(
    before
      ? `${SELECT_RESERVATION}
       JOIN reservations c ON c.id = ? AND c.user_id = r.user_id
      WHERE r.user_id = ? AND (r.created_at < c.created_at OR (r.created_at = c.created_at AND r.id < c.id))
      ORDER BY r.created_at DESC, r.id DESC LIMIT ?`
      : `${SELECT_RESERVATION} WHERE r.user_id = ? ORDER BY r.created_at DESC, r.id DESC LIMIT ?`,
    before ? [before, userId, limit + 1] : [userId, limit + 1],
  );
  const kept = rows.slice(0, limit);
  const now = Date.now();
  return {
    reservations: kept.map((row) => effectiveView(toView(row), now)),
    nextCursor: rows.length > limit ? (kept[kept.length - 1]?.id ?? null) : null,
  };
}
