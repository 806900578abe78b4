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
