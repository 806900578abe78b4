import { randomUUID } from 'node:crypto';
import type { TestUser } from '../helpers/auth';
import { brokenLink, DATE, moneyOf, moneyTotals } from '../helpers/money';
import { percentileOf } from '../../scripts/lib/stats';
import { useStack } from '../helpers/stack';

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string } };
  ms: number;
}

function report(label: string, answers: Answer[], wallMs: number): void {
  const ms = answers.map((a) => a.ms);
  console.log(
    `${label}: ${answers.length} requests in ${wallMs} ms = ${Math.round((answers.length * 1000) / wallMs)}/s; ` +
      `latency p50 ${percentileOf(ms, 50).toFixed(0)} ms, p99 ${percentileOf(ms, 99).toFixed(0)} ms, ` +
      `max ${Math.max(...ms).toFixed(0)} ms`,
  );
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const randomAmount = (max: number): number => 1 + Math.floor(Math.random() * max);

/**
 * Money across 2 API and 2 worker processes (real HTTP, Temporal dev server, MariaDB, Redis):
 * concurrent charges, payments racing charges, identical retries, and conservation of money
 * after a mixed run. Every won enters through a charge (users start at 0), so the database
 * must always satisfy: charged = balances + paid.
 */
describe('balance and payments across 2 api and 2 worker processes', () => {
  const h = useStack({ poolSize: 10, config: { seatHoldSeconds: 300, logLevel: 'warn' }, apis: 2, workers: 2 });
  let turn = 0;

  /** One JSON request, alternating between the API processes. */
  async function call(method: string, path: string, user: TestUser | null, body?: unknown, key?: string) {
    const started = performance.now();
    const res = await fetch(`${h.api(turn++)}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(user ? user.auth : {}),
        ...(key ? { 'Idempotency-Key': key } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: (text ? JSON.parse(text) : {}) as Answer['body'],
      ms: performance.now() - started,
    } satisfies Answer;
  }

  /** Users start with balance 0: every won comes in through a charge. */
  const newUsers = (n: number) => Promise.all(Array.from({ length: n }, () => h.newUser()));

  const charge = (user: TestUser, amount: number, key?: string) =>
    call('POST', `/v1/users/${user.userId}/balance/charge`, user, { amount }, key);
  /** One reservation as v1's `{reservationId}`, several as `{reservationIds}` (one payment). */
  const pay = (user: TestUser, reservation: string | string[], key?: string) =>
    call(
      'POST',
      '/v1/payments',
      user,
      typeof reservation === 'string' ? { reservationId: reservation } : { reservationIds: reservation },
      key,
    );

  /** A concert with `dates` dates; seat n costs n × 1000. */
  async function newConcert(dates = [DATE]): Promise<string> {
    const prices = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [i + 1, (i + 1) * 1000]));
    const created = await fetch(`${h.api()}/v1/admin/concerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Admin-Key': h.config.adminApiKey },
      body: JSON.stringify({ title: `Money ${randomUUID().slice(0, 8)}`, dates, prices }),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { concertId: string }).concertId;
  }

  async function hold(user: TestUser, concertId: string, seatNo: number, date = DATE): Promise<string> {
    const res = await call('POST', '/v1/reservations', user, { concertId, date, seatNo });
    expect(res.status).toBe(201);
    return res.body.reservationId as string;
  }

  async function expectConservation(): Promise<void> {
    const totals = await moneyTotals(h.db.dataSource);
    expect(totals.charged).toBe(totals.balances + totals.paid);
    expect(totals.paidLedger).toBe(totals.paid);
    // A payment may cover several seats: every sold seat is one paid reservation.
    expect(totals.sold).toBe(totals.paidReservations);
  }

  it('when 100 charges of random amounts hit one user through both APIs at once, then the balance is their sum and the ledger matches', async () => {
    const user = await h.newUser();
    const amounts = Array.from({ length: 100 }, () => randomAmount(1_000_000));
    const started = performance.now();
    const answers = await Promise.all(amounts.map((amount) => charge(user, amount)));
    report('100 concurrent charges, one user', answers, Math.round(performance.now() - started));

    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
    const state = await moneyOf(h.db.dataSource, user.userId);
    expect(state.balance).toBe(sum(amounts));
    expect(state.ledger).toHaveLength(100);
    expect(sum(state.ledger.map((l) => l.amount))).toBe(sum(amounts));
    expect(brokenLink(state.ledger)).toBeNull();
    // Each answer is the balance right after that charge: all distinct, the largest is the sum.
    const balances = answers.map((a) => a.body.balance as number);
    expect(new Set(balances).size).toBe(100);
    expect(Math.max(...balances)).toBe(sum(amounts));
    await expectConservation();
  }, 120_000);

  it('when a user pays two holds in one payment while charges keep arriving, then balance = charges − prices and the ledger sums match', async () => {
    const concertId = await newConcert();
    const user = await h.newUser();
    expect((await charge(user, 50_000)).status).toBe(200);
    const first = await hold(user, concertId, 21);
    const second = await hold(user, concertId, 22);
    const amounts = Array.from({ length: 40 }, () => randomAmount(20_000));

    const [paid, ...charges] = await Promise.all([
      pay(user, [first, second], 'pay-both'),
      ...amounts.map((amount, i) => charge(user, amount, i % 2 ? `c-${i}` : undefined)),
    ]);
    // A charge that arrives after the payment spent the token is refused (403) and changes nothing.
    for (const c of charges) expect([200, 403]).toContain(c.status);
    const accepted = amounts.filter((_, i) => charges[i]!.status === 200);
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ amount: 43_000, reservationIds: [first, second].sort() });

    const charged = 50_000 + sum(accepted);
    const state = await moneyOf(h.db.dataSource, user.userId);
    expect(state.balance).toBe(charged - 43_000);
    expect(sum(state.ledger.filter((l) => l.type === 'CHARGE').map((l) => l.amount))).toBe(charged);
    // One payment, one ledger row, for both seats.
    expect(state.ledger.filter((l) => l.type === 'PAYMENT').map((l) => l.amount)).toEqual([43_000]);
    expect(state.payments.map((p) => [p.amount, p.reservationIds])).toEqual([[43_000, [first, second].sort()]]);
    expect(brokenLink(state.ledger)).toBeNull();
    console.log(
      `payments raced by ${accepted.length}/40 accepted charges (${40 - accepted.length} after the token was spent)`,
    );
    await expectConservation();
  }, 120_000);

  it('when 50 identical payment requests with one Idempotency-Key arrive through both APIs at once, then one payment and 50 identical 201s', async () => {
    const concertId = await newConcert();
    const user = await h.newUser();
    expect((await charge(user, 100_000)).status).toBe(200);
    const reservationId = await hold(user, concertId, 33);
    const answers = await Promise.all(Array.from({ length: 50 }, () => pay(user, reservationId, 'one-key-50')));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(201));
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect(answers[0]!.body).toMatchObject({ reservationId, amount: 33_000, balance: 67_000 });
    const state = await moneyOf(h.db.dataSource, user.userId);
    expect(state.payments).toHaveLength(1);
    expect(state.balance).toBe(67_000);
    expect(state.ledger.filter((l) => l.type === 'PAYMENT')).toHaveLength(1);
    // And a late retry, after the run has ended and the token is spent, still gets the same 201.
    const late = await pay(user, reservationId, 'one-key-50');
    expect([late.status, late.body]).toEqual([201, answers[0]!.body]);
    await expectConservation();
  }, 120_000);

  it('when 100 users pay their holds at once, then 100 payments commit (throughput and p99 printed)', async () => {
    const concertId = await newConcert(['2099-12-24', '2099-12-25']);
    const users = await newUsers(100);
    const started = performance.now();
    const charges = await Promise.all(users.map((u) => charge(u, 100_000)));
    report('100 concurrent charges, 100 users', charges, Math.round(performance.now() - started));
    expect(charges.map((c) => c.status)).toEqual(Array(100).fill(200));
    const holdStarted = performance.now();
    const held = await Promise.all(
      users.map((u, i) =>
        call('POST', '/v1/reservations', u, {
          concertId,
          date: i < 50 ? '2099-12-24' : '2099-12-25',
          seatNo: (i % 50) + 1,
        }),
      ),
    );
    report('100 concurrent holds, 100 users', held, Math.round(performance.now() - holdStarted));
    expect(held.map((h) => h.status)).toEqual(Array(100).fill(201));
    const holds = held.map((h) => h.body.reservationId as string);

    const payStarted = performance.now();
    const answers = await Promise.all(users.map((u, i) => pay(u, holds[i]!, `bench-${i}`)));
    report('100 concurrent payments, 100 users', answers, Math.round(performance.now() - payStarted));
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(201));
    const [confirmed] = await h.db.dataSource.query<Array<{ n: string }>>(
      `SELECT COUNT(*) AS n FROM reservations r JOIN seats s ON s.id = r.seat_id JOIN performances p ON p.id = s.performance_id
        WHERE p.concert_id = ? AND r.status = 'CONFIRMED' AND s.status = 'SOLD'`,
      [concertId],
    );
    expect(Number(confirmed?.n)).toBe(100);
    await expectConservation();
  }, 180_000);

  it('when 60 users charge, hold, pay (some short of money), cancel and retry at once, then money is conserved and no seat is sold twice', async () => {
    const concertId = await newConcert();
    const users = await newUsers(60);
    const outcomes: Record<string, number> = {};
    const count = (what: string) => (outcomes[what] = (outcomes[what] ?? 0) + 1);

    const script = async (user: TestUser, u: number): Promise<void> => {
      // Some users bring too little for the seat they want; everyone tops up later.
      const seatNo = 1 + (u % 45);
      const first = await charge(user, randomAmount(seatNo * 1000 * 2), `open-${u}`);
      expect(first.status).toBe(200);
      const held = await call('POST', '/v1/reservations', user, { concertId, date: DATE, seatNo });
      if (held.status !== 201) {
        expect(held.body.error?.code).toBe('SEAT_UNAVAILABLE');
        count('seat taken');
        await charge(user, randomAmount(5_000));
        return;
      }
      const reservationId = held.body.reservationId as string;
      if (u % 7 === 0) {
        const cancelled = await call('DELETE', `/v1/reservations/${reservationId}`, user);
        expect(cancelled.status).toBe(200);
        count('cancelled');
        const late = await pay(user, reservationId);
        expect(late.body.error?.code).toBe('RESERVATION_NOT_HELD');
        return;
      }
      const key = `pay-${u}`;
      const [attempt, topUp] = await Promise.all([pay(user, reservationId, key), charge(user, randomAmount(3_000))]);
      if (attempt.status === 402) {
        count('402 then paid');
        if (topUp.status !== 200) throw new Error(`top-up refused: ${JSON.stringify(topUp.body)}`);
        expect((await charge(user, seatNo * 1000)).status).toBe(200);
        const retried = await pay(user, reservationId, key);
        expect(retried.status).toBe(201);
      } else {
        expect(attempt.status).toBe(201);
        count('paid');
        // A duplicate after success replays, even with the token spent.
        const replay = await pay(user, reservationId, key);
        expect([replay.status, replay.body]).toEqual([201, attempt.body]);
      }
    };

    await Promise.all(users.map((user, u) => script(user, u)));
    console.log(`mixed run outcomes: ${JSON.stringify(outcomes)}`);

    await expectConservation();
    const perUser = await Promise.all(users.map((u) => moneyOf(h.db.dataSource, u.userId)));
    for (const state of perUser) {
      const charged = sum(state.ledger.filter((l) => l.type === 'CHARGE').map((l) => l.amount));
      expect(state.balance).toBe(charged - sum(state.payments.map((p) => p.amount)));
      expect(brokenLink(state.ledger)).toBeNull();
    }
    const sold = await h.db.dataSource.query<Array<{ seat_no: number; payments: string; confirmed: string }>>(
      `SELECT s.seat_no, COUNT(DISTINCT pay.payment_id) AS payments, SUM(r.status = 'CONFIRMED') AS confirmed
         FROM seats s JOIN performances p ON p.id = s.performance_id
         JOIN reservations r ON r.seat_id = s.id LEFT JOIN payment_reservations pay ON pay.reservation_id = r.id
        WHERE p.concert_id = ? AND s.status = 'SOLD' GROUP BY s.seat_no`,
      [concertId],
    );
    for (const seat of sold) expect([Number(seat.payments), Number(seat.confirmed)]).toEqual([1, 1]);
    expect(sold.length).toBe((outcomes.paid ?? 0) + (outcomes['402 then paid'] ?? 0));
  }, 180_000);
});
