import type { LedgerType, PaymentView } from '../shared/types';
import type { BalanceRow, Queryable } from './sql';

/** Where a reservation sits: its owner, seat row and the reservation workflow's id parts. */
export interface ReservationRef {
  reservationId: string;
  userId: string;
  seatId: string;
  concertId: string;
  date: string;
  seatNo: number;
}

interface ReservationRefRow {
  id: string;
  user_id: string;
  seat_id: string;
  seat_no: number;
  concert_id: string;
  date: string;
}

/** A plain read (no locks) of a reservation joined to its seat and performance, or null. */
export async function findReservationRef(db: Queryable, reservationId: string): Promise<ReservationRef | null> {
  const rows = await db.query<ReservationRefRow[]>(
    `SELECT r.id, r.user_id, r.seat_id, s.seat_no, p.concert_id, p.date
       FROM reservations r
       JOIN seats s ON s.id = r.seat_id
       JOIN performances p ON p.id = s.performance_id
      WHERE r.id = ?`,
    [reservationId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    reservationId: row.id,
    userId: row.user_id,
    seatId: String(row.seat_id),
    concertId: row.concert_id,
    date: row.date,
    seatNo: Number(row.seat_no),
  };
}

interface PaymentRow {
  id: string;
  reservation_id: string;
  amount: string;
  balance_after: string;
  paid_at: Date;
}

const paymentView = (row: PaymentRow): PaymentView => ({
  paymentId: row.id,
  reservationId: row.reservation_id,
  amount: Number(row.amount),
  balance: Number(row.balance_after),
  paidAt: row.paid_at.toISOString(),
});

/** The payment of a reservation (at most one: `uq_payments_reservation`), or null. */
export async function paymentOfReservation(db: Queryable, reservationId: string): Promise<PaymentView | null> {
  const rows = await db.query<PaymentRow[]>(
    'SELECT id, reservation_id, amount, balance_after, paid_at FROM payments WHERE reservation_id = ?',
    [reservationId],
  );
  return rows[0] ? paymentView(rows[0]) : null;
}

/** A user's balance; 0 for a user not created yet (users start at 0). */
export async function readBalance(db: Queryable, userId: string): Promise<number> {
  const rows = await db.query<BalanceRow[]>('SELECT balance FROM users WHERE id = ?', [userId]);
  return rows[0] ? Number(rows[0].balance) : 0;
}

/**
 * Id of the user's newest ledger row (0 when none): it changes whenever the balance does, so
 * it tells two attempts of the same request apart when a charge came in between.
 */
export async function ledgerHead(db: Queryable, userId: string): Promise<string> {
  const [row] = await db.query<Array<{ head: string | null }>>(
    'SELECT MAX(id) AS head FROM ledger_entries WHERE user_id = ?',
    [userId],
  );
  return String(row?.head ?? 0);
}

/** One page of a newest-first list; `nextCursor` is there only when older items remain. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface PageRequest {
  limit: number;
  /** Cursor from a previous page: only items older than it. */
  before?: string;
}

export interface LedgerView {
  type: LedgerType;
  amount: number;
  balanceAfter: number;
  at: string;
}

// The cursor is a ledger row id: ids only grow, so "older than" is "id below", served by
// idx_ledger_user (user_id, id) without a sort.
function page<R extends { cursor: string }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), ...(more && last ? { nextCursor: String(last.cursor) } : {}) };
}

interface LedgerRow {
  cursor: string;
  type: LedgerType;
  amount: string;
  balance_after: string;
  created_at: Date;
}

/** The user's ledger, newest first. */
export async function listLedger(db: Queryable, userId: string, { limit, before }: PageRequest) {
  const rows = await db.query<LedgerRow[]>(
    `SELECT id AS \`cursor\`, type, amount, balance_after, created_at
       FROM ledger_entries
      WHERE user_id = ?${before ? ' AND id < ?' : ''}
      ORDER BY id DESC
      LIMIT ?`,
    before ? [userId, before, limit + 1] : [userId, limit + 1],
  );
  return page(
    rows,
    limit,
    (row): LedgerView => ({
      type: row.type,
      amount: Number(row.amount),
      balanceAfter: Number(row.balance_after),
      at: row.created_at.toISOString(),
    }),
  );
}

/** The user's payments, newest first (paged by their ledger rows, like the history). */
export async function listPayments(db: Queryable, userId: string, { limit, before }: PageRequest) {
  const rows = await db.query<Array<PaymentRow & { cursor: string }>>(
    `SELECT l.id AS \`cursor\`, p.id, p.reservation_id, p.amount, p.balance_after, p.paid_at
       FROM ledger_entries l
       JOIN payments p ON p.id = l.payment_id
      WHERE l.user_id = ? AND l.type = 'PAYMENT'${before ? ' AND l.id < ?' : ''}
      ORDER BY l.id DESC
      LIMIT ?`,
    before ? [userId, before, limit + 1] : [userId, limit + 1],
  );
  return page(rows, limit, paymentView);
}
