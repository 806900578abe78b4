import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createReservationActivities } from '../../src/activities/reservations';
import { createConcert } from '../../src/seats/concerts';
import type { Services } from '../../src/services';
import type { ReservationView } from '../../src/shared/types';

/** A performance date a month from today (UTC): on sale whenever the tests run. */
export const DATE = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

/** A user row with `balance`, for tests that do not go through the queue. */
export async function newUser(ds: DataSource, balance = 0): Promise<string> {
  const id = randomUUID();
  await ds.query('INSERT INTO users (id, balance) VALUES (?, ?)', [id, balance]);
  return id;
}

/** A concert on {@link DATE} whose seat n costs `price(n)` (default 1000 × n). */
export async function newConcert(ds: DataSource, price: (seatNo: number) => number = (n) => n * 1000) {
  const prices = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [i + 1, price(i + 1)]));
  const { concertId } = await createConcert(ds, { title: 'Payment test', dates: [DATE], prices });
  return concertId;
}

/** Holds seats through the real hold activity (seat HELD, reservation HELD, as production does). */
export function holder(services: Services) {
  const activities = createReservationActivities(services);
  return (userId: string, concertId: string, seatNo: number): Promise<ReservationView> =>
    activities.holdSeat({ reservationId: randomUUID(), userId, concertId, date: DATE, seatNo });
}

/** Moves a hold's deadline into the past, as if its time had run out (the release has not run yet). */
export async function lapseHold(ds: DataSource, reservationId: string): Promise<void> {
  const past = new Date(Date.now() - 1000);
  await ds.query('UPDATE reservations SET held_until = ? WHERE id = ?', [past, reservationId]);
  await ds.query('UPDATE seats SET hold_expires_at = ? WHERE reservation_id = ?', [past, reservationId]);
}

export interface MoneyState {
  balance: number;
  ledger: Array<{ type: 'CHARGE' | 'PAYMENT'; amount: number; balanceAfter: number; paymentId: string | null }>;
  payments: Array<{ id: string; reservationIds: string[]; amount: number; balanceAfter: number }>;
}

/** A user's balance, ledger (oldest first) and payments, straight from MySQL. */
export async function moneyOf(ds: DataSource, userId: string): Promise<MoneyState> {
  const [user] = await ds.query('SELECT balance FROM users WHERE id = ?', [userId]);
  const ledger = await ds.query<Array<Record<string, unknown>>>(
    'SELECT type, amount, balance_after, payment_id FROM ledger_entries WHERE user_id = ? ORDER BY id',
    [userId],
  );
  const payments = await ds.query<Array<Record<string, unknown>>>(
    `SELECT p.id, (SELECT GROUP_CONCAT(pr.reservation_id ORDER BY pr.reservation_id) FROM payment_reservations pr
        WHERE pr.payment_id = p.id) AS reservation_ids, p.amount, p.balance_after
       FROM payments p WHERE p.user_id = ? ORDER BY p.paid_at, p.id`,
    [userId],
  );
  return {
    balance: Number(user?.balance ?? 0),
    ledger: ledger.map((r) => ({
      type: r.type as 'CHARGE' | 'PAYMENT',
      amount: Number(r.amount),
      balanceAfter: Number(r.balance_after),
      paymentId: (r.payment_id as string | null) ?? null,
    })),
    payments: payments.map((r) => ({
      id: r.id as string,
      reservationIds: String(r.reservation_ids).split(','),
      amount: Number(r.amount),
      balanceAfter: Number(r.balance_after),
    })),
  };
}

/**
 * The ledger is a chain: each row's balanceAfter is the previous one plus (CHARGE) or minus
 * (PAYMENT) its amount, starting from `opening`. Returns the first broken link, or null.
 */
export function brokenLink(ledger: MoneyState['ledger'], opening = 0): string | null {
  let running = opening;
  for (const [i, row] of ledger.entries()) {
    running += row.type === 'CHARGE' ? row.amount : -row.amount;
    if (row.balanceAfter !== running)
      return `row ${i}: ${row.type} ${row.amount} → ${row.balanceAfter}, expected ${running}`;
  }
  return null;
}

/** Whole-database totals: money in (charges), money out (payments), money held (balances). */
export async function moneyTotals(ds: DataSource) {
  const [row] = await ds.query(
    `SELECT (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE type = 'CHARGE') AS charged,
            (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE type = 'PAYMENT') AS paidLedger,
            (SELECT COALESCE(SUM(amount), 0) FROM payments) AS paid,
            (SELECT COALESCE(SUM(balance), 0) FROM users) AS balances,
            (SELECT COUNT(*) FROM payments) AS payments,
            (SELECT COUNT(*) FROM payment_reservations) AS paidReservations,
            (SELECT COUNT(*) FROM seats WHERE status = 'SOLD') AS sold`,
  );
  return {
    charged: Number(row.charged),
    paidLedger: Number(row.paidLedger),
    paid: Number(row.paid),
    balances: Number(row.balances),
    payments: Number(row.payments),
    paidReservations: Number(row.paidReservations),
    sold: Number(row.sold),
  };
}
