import type { DataSource, EntityManager } from 'typeorm';
import type { ReservationStatus, ReservationView } from '../shared/types';

type Queryable = Pick<DataSource | EntityManager, 'query'>;

interface ReservationRow {
  id: string;
  user_id: string;
  seat_id: string;
  price: string;
  status: ReservationStatus;
  held_until: Date;
  seat_no: number | string;
  concert_id: string;
  date: string;
}

/** A reservation as stored, with where it sits (seat row id, concert, date, seat number). */
export interface StoredReservation {
  view: ReservationView;
  seatId: string;
}

/** Reads one reservation joined to its seat and performance (a plain read, no locks), or null. */
export async function loadReservation(db: Queryable, reservationId: string): Promise<StoredReservation | null> {
  const rows: ReservationRow[] = await db.query(
    `SELECT r.id, r.user_id, r.seat_id, r.price, r.status, r.held_until, s.seat_no, p.concert_id, p.date
       FROM reservations r
       JOIN seats s ON s.id = r.seat_id
       JOIN performances p ON p.id = s.performance_id
      WHERE r.id = ?`,
    [reservationId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    seatId: String(row.seat_id),
    view: {
      reservationId: row.id,
      userId: row.user_id,
      concertId: row.concert_id,
      date: row.date,
      seatNo: Number(row.seat_no),
      price: Number(row.price),
      status: row.status,
      heldUntil: row.held_until.toISOString(),
    },
  };
}

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
 * EXPIRED). The cursor is the id of the last reservation of the previous page: "older" is
 * (created_at, id) below that reservation's, served by idx_reservations_user.
 */
export async function listUserReservations(
  db: Queryable,
  userId: string,
  { limit, before }: { limit: number; before?: string },
): Promise<ReservationPage> {
  const rows: ReservationRow[] = await db.query(
    `SELECT r.id, r.user_id, r.seat_id, r.price, r.status, r.held_until, s.seat_no, p.concert_id, p.date
       FROM reservations r
       JOIN seats s ON s.id = r.seat_id
       JOIN performances p ON p.id = s.performance_id
       ${before ? 'JOIN reservations c ON c.id = ? AND c.user_id = r.user_id' : ''}
      WHERE r.user_id = ?
        ${before ? 'AND (r.created_at < c.created_at OR (r.created_at = c.created_at AND r.id < c.id))' : ''}
      ORDER BY r.created_at DESC, r.id DESC
      LIMIT ?`,
    before ? [before, userId, limit + 1] : [userId, limit + 1],
  );
  const kept = rows.slice(0, limit);
  const now = Date.now();
  return {
    reservations: kept.map((row) =>
      effectiveView(
        {
          reservationId: row.id,
          userId: row.user_id,
          concertId: row.concert_id,
          date: row.date,
          seatNo: Number(row.seat_no),
          price: Number(row.price),
          status: row.status,
          heldUntil: row.held_until.toISOString(),
        },
        now,
      ),
    ),
    nextCursor: rows.length > limit ? (kept[kept.length - 1]?.id ?? null) : null,
  };
}
