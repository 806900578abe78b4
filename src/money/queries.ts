import type { Queryable, Statement } from '../db/sql';
import { page } from '../db/paging';
import type { Page, PageRequest } from '../db/paging';
import type { LedgerType, PaymentView } from '../shared/types';

/** Every read of the money tables: users' balances, payments and the ledger. */

/** A `SELECT balance FROM users` row (BIGINT comes back as a string). */
export interface BalanceRow {
  balance: string;
}

interface PaymentRow {
  id: string;
  /** The payment's reservation ids, comma-separated, ascending. */
  reservation_ids: string;
  amount: string;
  balance_after: string;
  paid_at: Date;
}

const paymentView = (row: PaymentRow): PaymentView => {
  const reservationIds = row.reservation_ids.split(',');
  return {
    paymentId: row.id,
    reservationId: reservationIds[0] ?? '',
    reservationIds,
    amount: Number(row.amount),
    balance: Number(row.balance_after),
    paidAt: row.paid_at.toISOString(),
  };
};

// A payment lists its reservations in ascending id order, here as when it was answered.
const RESERVATION_IDS = `(SELECT GROUP_CONCAT(pr.reservation_id ORDER BY pr.reservation_id) FROM payment_reservations pr
         WHERE pr.payment_id = p.id)`;

/** The read of {@link paymentOfReservations}, for a caller that batches it with others. */
export const paymentOfReservationsRead = (reservationIds: readonly string[]): Statement => ({
  sql: `SELECT p.id, ${RESERVATION_IDS} AS reservation_ids, p.amount, p.balance_after, p.paid_at
          FROM payments p JOIN payment_reservations pr ON pr.payment_id = p.id
         WHERE pr.reservation_id IN (${reservationIds.map(() => '?').join(', ')})
         GROUP BY p.id`,
  params: [...reservationIds],
});

/** The payment in the rows of {@link paymentOfReservationsRead}: one covering them all, or null. */
export const paymentOfRows = (rows: readonly unknown[]): PaymentView | null =>
  rows.length === 1 && rows[0] ? paymentView(rows[0] as PaymentRow) : null;

/** The one payment that covers all of `reservationIds`, or null. */
export async function paymentOfReservations(
  db: Queryable,
  reservationIds: readonly string[],
): Promise<PaymentView | null> {
  const read = paymentOfReservationsRead(reservationIds);
  return paymentOfRows(await db.query<PaymentRow[]>(read.sql, [...read.params]));
}

/** A user's balance; 0 for a user not created yet (users start at 0). */
export async function readBalance(db: Queryable, userId: string): Promise<number> {
  const rows = await db.query<BalanceRow[]>('SELECT balance FROM users WHERE id = ?', [userId]);
  return rows[0] ? Number(rows[0].balance) : 0;
}

export interface LedgerView {
  type: LedgerType;
  amount: number;
  balanceAfter: number;
  at: string;
}

interface LedgerRow {
  cursor: string;
  type: LedgerType;
  amount: string;
  balance_after: string;
  created_at: Date;
}

// Ledger pages are cut by ledger row id, served by idx_ledger_user (user_id, id) without a sort.

/** The user's ledger, newest first. */
export async function listLedger(
  db: Queryable,
  userId: string,
  { limit, before }: PageRequest,
): Promise<Page<LedgerView>> {
  const rows = await db.query<LedgerRow[]>(
    `SELECT id AS \`cursor\`, type, amount, balance_after, created_at
       FROM ledger_entries
      WHERE user_id = ?${before ? ' AND id < ?' : ''}
      ORDER BY id DESC
      LIMIT ?`,
    before ? [userId, before, limit + 1] : [userId, limit + 1],
  );
  return page(rows, limit, (row) => ({
    type: row.type,
    amount: Number(row.amount),
    balanceAfter: Number(row.balance_after),
    at: row.created_at.toISOString(),
  }));
}

/** The user's payments, newest first (paged by their ledger rows, like the history). */
export async function listPayments(
  db: Queryable,
  userId: string,
  { limit, before }: PageRequest,
): Promise<Page<PaymentView>> {
  const rows = await db.query<Array<PaymentRow & { cursor: string }>>(
    `SELECT l.id AS \`cursor\`, p.id, ${RESERVATION_IDS} AS reservation_ids, p.amount, p.balance_after, p.paid_at
       FROM ledger_entries l
       JOIN payments p ON p.id = l.payment_id
      WHERE l.user_id = ? AND l.type = 'PAYMENT'${before ? ' AND l.id < ?' : ''}
      ORDER BY l.id DESC
      LIMIT ?`,
    before ? [userId, before, limit + 1] : [userId, limit + 1],
  );
  return page(rows, limit, paymentView);
}
