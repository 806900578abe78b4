import { setTimeout as delay } from 'node:timers/promises';
import type { TestUser } from '../helpers/auth';
import { DATE, moneyOf, moneyTotals, newConcert } from '../helpers/money';
import { useStack } from '../helpers/stack';

const HOLD_SECONDS = 2;
const SEATS = 40;
/** A request sent this long before heldUntil has surely reached the API in time. */
const ARRIVAL_MARGIN_MS = 250;

interface Row {
  id: string;
  status: string;
  seat_status: string;
  seat_reservation: string | null;
  payments: string;
}

/**
 * Payments racing the hold timer in real time (SEAT_HOLD_SECONDS=2): each of 40 users pays at
 * a random moment from 700 ms before to 300 ms after their hold's heldUntil. Whatever wins, each hold ends in
 * exactly one outcome: paid (201, CONFIRMED, seat SOLD, one payment) or expired and refused
 * (409, EXPIRED, no money moved), never both. A hold is judged at the payment's arrival, not when
 * its transaction runs: a payment sent well before heldUntil is paid, one sent after it is refused.
 */
describe('payments racing the hold timer (SEAT_HOLD_SECONDS=2, 2 api + 2 worker processes)', () => {
  const h = useStack({ poolSize: 5, config: { seatHoldSeconds: HOLD_SECONDS, logLevel: 'warn' }, apis: 2, workers: 2 });

  const post = async (i: number, path: string, user: TestUser, body: unknown) => {
    const res = await fetch(`${h.api(i)}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...user.auth },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
  };

  it('when payments arrive around the moment holds lapse, then every hold is either paid or expired, never both', async () => {
    const concertId = await newConcert(h.db.dataSource, () => 10_000);
    const users = await Promise.all(Array.from({ length: SEATS }, () => h.newUser()));
    for (const [i, user] of users.entries()) {
      expect((await post(i, `/v1/users/${user.userId}/balance/charge`, user, { amount: 25_000 })).status).toBe(200);
    }

    const outcomes = await Promise.all(
      users.map(async (user, i) => {
        const held = await post(i, '/v1/reservations', user, { concertId, date: DATE, seatNo: i + 1 });
        expect(held.status).toBe(201);
        const reservationId = held.body.reservationId as string;
        // Sent from 700 ms before to 300 ms after heldUntil: the request takes a while to reach the
        // database, so this window puts the transaction on both sides of the deadline.
        const at = Date.parse(held.body.heldUntil as string) - 700 + Math.round(Math.random() * 1000);
        await delay(Math.max(0, at - Date.now()));
        const sentAt = Date.now();
        const paid = await post(i + 1, '/v1/payments', user, { reservationId });
        const early = Date.parse(held.body.heldUntil as string) - sentAt;
        return { user, reservationId, early, status: paid.status, code: paid.body.error?.code };
      }),
    );

    // Every hold has settled once no reservation of this concert is HELD any more.
    const rows = async () =>
      h.db.dataSource.query<Row[]>(
        `SELECT r.id, r.status, s.status AS seat_status, s.reservation_id AS seat_reservation,
                (SELECT COUNT(*) FROM payment_reservations p WHERE p.reservation_id = r.id) AS payments
           FROM reservations r JOIN seats s ON s.id = r.seat_id JOIN performances pf ON pf.id = s.performance_id
          WHERE pf.concert_id = ?`,
        [concertId],
      );
    const deadline = Date.now() + 15_000;
    let settled = await rows();
    while (settled.some((row) => row.status === 'HELD')) {
      if (Date.now() > deadline) throw new Error('holds did not settle');
      await delay(100);
      settled = await rows();
    }

    const byId = new Map(settled.map((row) => [row.id, row]));
    let paid = 0;
    let expired = 0;
    for (const outcome of outcomes) {
      const row = byId.get(outcome.reservationId)!;
      const money = await moneyOf(h.db.dataSource, outcome.user.userId);
      if (outcome.status === 201) {
        paid++;
        expect([row.status, row.seat_status, row.seat_reservation, Number(row.payments)]).toEqual([
          'CONFIRMED',
          'SOLD',
          outcome.reservationId,
          1,
        ]);
        expect(money.balance).toBe(15_000);
      } else {
        expired++;
        expect([outcome.status, outcome.code]).toEqual([409, 'RESERVATION_NOT_HELD']);
        expect([row.status, Number(row.payments)]).toEqual(['EXPIRED', 0]);
        expect(row.seat_status).not.toBe('SOLD');
        expect(money.balance).toBe(25_000);
        expect(money.payments).toEqual([]);
      }
    }
    console.log(`payments sent at heldUntil −700…+300 ms: ${paid} paid, ${expired} expired and refused`);
    // Judged at arrival: sent in good time means paid, sent after heldUntil means refused.
    const inTime = outcomes.filter((o) => o.early >= ARRIVAL_MARGIN_MS);
    const late = outcomes.filter((o) => o.early < 0);
    expect(inTime.filter((o) => o.status !== 201).map((o) => [o.early, o.status, o.code])).toEqual([]);
    expect(late.filter((o) => o.status !== 409).map((o) => [o.early, o.status])).toEqual([]);
    const totals = await moneyTotals(h.db.dataSource);
    expect(totals.charged).toBe(totals.balances + totals.paid);
    expect(totals.payments).toBe(paid);
    expect(totals.sold).toBe(paid);
  }, 120_000);
});
