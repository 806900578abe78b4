/**
 * Invariants read straight from MySQL, the source of truth for seats and money: what the
 * benchmark and the drills assert after the load.
 */
import type { DataSource } from 'typeorm';

/** One invariant and whether it held. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

type CountRow = { n: string | number };

async function count(ds: DataSource, sql: string, params: unknown[] = []): Promise<number> {
  const rows = await ds.query<CountRow[]>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** Seat counts by status for one performance. */
export async function seatStatuses(ds: DataSource, concertId: string, date: string): Promise<Record<string, number>> {
  const rows = await ds.query<Array<{ status: string; n: string }>>(
    `SELECT s.status, COUNT(*) AS n FROM seats s JOIN performances p ON p.id = s.performance_id
      WHERE p.concert_id = ? AND p.date = ? GROUP BY s.status`,
    [concertId, date],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/**
 * For one performance: `sold` seats SOLD (when given), no seat with two confirmed
 * reservations, every SOLD seat backed by exactly one confirmed, paid reservation, and
 * payments = SOLD seats.
 */
export async function seatChecks(
  ds: DataSource,
  concertId: string,
  date: string,
  expect: { sold?: number } = {},
): Promise<Check[]> {
  const where = 'p.concert_id = ? AND p.date = ?';
  const params = [concertId, date];
  const statuses = await seatStatuses(ds, concertId, date);
  const sold = statuses.SOLD ?? 0;
  const confirmed = await count(
    ds,
    `SELECT COUNT(*) AS n FROM reservations r JOIN seats s ON s.id = r.seat_id JOIN performances p ON p.id = s.performance_id
      WHERE ${where} AND r.status = 'CONFIRMED'`,
    params,
  );
  const confirmedSeats = await count(
    ds,
    `SELECT COUNT(DISTINCT r.seat_id) AS n FROM reservations r JOIN seats s ON s.id = r.seat_id
      JOIN performances p ON p.id = s.performance_id WHERE ${where} AND r.status = 'CONFIRMED'`,
    params,
  );
  const payments = await count(
    ds,
    `SELECT COUNT(*) AS n FROM payment_reservations pay JOIN reservations r ON r.id = pay.reservation_id
      JOIN seats s ON s.id = r.seat_id JOIN performances p ON p.id = s.performance_id WHERE ${where}`,
    params,
  );
  const soldWithoutPaidReservation = await count(
    ds,
    `SELECT COUNT(*) AS n FROM seats s JOIN performances p ON p.id = s.performance_id
      WHERE ${where} AND s.status = 'SOLD' AND NOT EXISTS (
        SELECT 1 FROM reservations r JOIN payment_reservations pay ON pay.reservation_id = r.id
         WHERE r.seat_id = s.id AND r.status = 'CONFIRMED'
           AND (s.holder_user_id IS NULL OR s.holder_user_id = r.user_id))`,
    params,
  );
  const checks: Check[] = [];
  if (expect.sold !== undefined) {
    checks.push({
      name: `exactly ${expect.sold} seats SOLD`,
      ok: sold === expect.sold,
      detail: `seat statuses ${JSON.stringify(statuses)}`,
    });
  }
  checks.push(
    {
      name: 'no seat sold twice',
      ok: confirmed === confirmedSeats && confirmed === sold,
      detail: `${confirmed} confirmed reservations on ${confirmedSeats} distinct seats, ${sold} seats SOLD`,
    },
    {
      name: 'payments = seats sold',
      ok: payments === sold,
      detail: `${payments} payments, ${sold} seats SOLD`,
    },
    {
      name: 'every SOLD seat has its paid, confirmed reservation (same holder)',
      ok: soldWithoutPaidReservation === 0,
      detail: `${soldWithoutPaidReservation} SOLD seats without one`,
    },
  );
  return checks;
}

/** Money summed over the whole database. */
export async function moneyTotals(
  ds: DataSource,
): Promise<{ charged: number; balances: number; paid: number; ledgerPaid: number }> {
  const rows = await ds.query<Array<Record<string, string>>>(
    `SELECT
       (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE type = 'CHARGE') AS charged,
       (SELECT COALESCE(SUM(balance), 0) FROM users) AS balances,
       (SELECT COALESCE(SUM(amount), 0) FROM payments) AS paid,
       (SELECT COALESCE(SUM(ABS(amount)), 0) FROM ledger_entries WHERE type = 'PAYMENT') AS ledgerPaid`,
  );
  const r = rows[0] ?? {};
  return {
    charged: Number(r.charged ?? 0),
    balances: Number(r.balances ?? 0),
    paid: Number(r.paid ?? 0),
    ledgerPaid: Number(r.ledgerPaid ?? 0),
  };
}

/** Every won charged is either still on a balance or paid for a seat, and the ledger agrees. */
export async function moneyCheck(ds: DataSource): Promise<Check> {
  const m = await moneyTotals(ds);
  return {
    name: 'money conserved (charges = balances + payments)',
    ok: m.charged === m.balances + m.paid && m.ledgerPaid === m.paid,
    detail: `charged ${m.charged}, balances ${m.balances}, payments ${m.paid}, ledger payments ${m.ledgerPaid}`,
  };
}

/** Every payment a client was told about (201) is in MySQL, with its reservation CONFIRMED and its seat SOLD. */
export async function paymentsPresent(ds: DataSource, paymentIds: readonly string[]): Promise<Check> {
  if (paymentIds.length === 0)
    return { name: 'no acknowledged payment lost', ok: true, detail: 'no payments acknowledged' };
  const found = await count(
    ds,
    `SELECT COUNT(DISTINCT pay.payment_id) AS n FROM payment_reservations pay JOIN reservations r ON r.id = pay.reservation_id
      JOIN seats s ON s.id = r.seat_id
      WHERE pay.payment_id IN (${paymentIds.map(() => '?').join(',')}) AND r.status = 'CONFIRMED' AND s.status = 'SOLD'`,
    [...paymentIds],
  );
  return {
    name: 'no acknowledged payment lost',
    ok: found === paymentIds.length,
    detail: `${found} of ${paymentIds.length} acknowledged payments found, confirmed and SOLD`,
  };
}
