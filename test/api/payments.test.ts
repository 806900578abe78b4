import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { tokenFor, type TestUser } from '../helpers/auth';
import { testConfig } from '../../scripts/lib/config';
import { DATE, lapseHold, moneyOf, newConcert } from '../helpers/money';
import { validateResponse } from '../helpers/openapi';
import type { QueueStatus } from '../../src/shared/types';
import { reservationStateQuery, reservationWorkflowId } from '../../src/shared';
import { until } from '../../scripts/lib/wait';

describe('payments (API, in-process worker)', () => {
  let stack: InProcessStack;

  beforeAll(async () => {
    stack = await startInProcessStack(testConfig({ seatHoldSeconds: 300 }));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const newUser = (balance = 0, status: QueueStatus = 'ACTIVE'): Promise<TestUser> =>
    tokenFor({ ...stack.deps, tokenSecret: stack.deps.config.tokenSecret }, { status, balance });

  /** Seat n costs n × 1000. */
  const concert = () => newConcert(stack.db.dataSource);

  async function hold(user: TestUser, concertId: string, seatNo: number): Promise<string> {
    const res = validateResponse(
      await request(stack.app).post('/v1/reservations').set(user.auth).send({ concertId, date: DATE, seatNo }),
    );
    expect(res.status).toBe(201);
    return res.body.reservationId as string;
  }

  const pay = async (user: TestUser, body: unknown, key?: string) => {
    const req = request(stack.app).post('/v1/payments').set(user.auth);
    if (key !== undefined) void req.set('Idempotency-Key', key);
    return validateResponse(await req.send(body as object));
  };

  const reservation = async (user: TestUser, id: string) =>
    (await request(stack.app).get(`/v1/reservations/${id}`).set(user.auth)).body as { status?: string };

  const entryStatus = (userId: string) => stack.redis.hget(stack.deps.keys.entry(userId), 'status');

  /** Reservation and seat status of each id, straight from MySQL. */
  const rowsOf = async (ids: string[]) =>
    Promise.all(
      ids.map(async (id) => {
        const [row] = await stack.db.dataSource.query(
          'SELECT r.status, s.status AS seat FROM reservations r JOIN seats s ON s.id = r.seat_id WHERE r.id = ?',
          [id],
        );
        return row as { status: string; seat: string };
      }),
    );

  /** Free seat numbers of the concert's DATE, as another ACTIVE user's seat map shows them. */
  const freeSeats = async (concertId: string): Promise<number[]> => {
    const viewer = await newUser();
    const res = await request(stack.app).get(`/v1/concerts/${concertId}/dates/${DATE}/seats`).set(viewer.auth);
    expect(res.status).toBe(200);
    return (res.body.seats as Array<{ seatNo: number }>).map((s) => s.seatNo);
  };

  test('when two holds are paid in one request without money for both, then 402 and both stay HELD; with enough, one payment confirms both and the third hold is released at once', async () => {
    const concertId = await concert();
    const user = await newUser(30_000);
    const a = await hold(user, concertId, 10);
    const b = await hold(user, concertId, 25);
    const third = await hold(user, concertId, 3);

    // 10,000 + 25,000 > 30,000: all or none, so none.
    const short = await pay(user, { reservationIds: [a, b] });
    expect([short.status, short.body.error.code]).toEqual([402, 'INSUFFICIENT_BALANCE']);
    expect(await rowsOf([a, b, third])).toEqual(Array(3).fill({ status: 'HELD', seat: 'HELD' }));
    expect(await moneyOf(stack.db.dataSource, user.userId)).toEqual({ balance: 30_000, ledger: [], payments: [] });
    expect(await entryStatus(user.userId)).toBe('ACTIVE');

    const charged = await request(stack.app)
      .post(`/v1/users/${user.userId}/balance/charge`)
      .set(user.auth)
      .send({ amount: 10_000 });
    expect(charged.status).toBe(200);
    const paid = await pay(user, { reservationIds: [b, a] });
    expect(paid.status).toBe(201);
    const ids = [a, b].sort();
    expect(paid.body).toEqual({
      paymentId: expect.any(String),
      reservationId: ids[0],
      reservationIds: ids,
      amount: 35_000,
      balance: 5_000,
      paidAt: expect.any(String),
    });
    expect(await rowsOf([a, b])).toEqual(Array(2).fill({ status: 'CONFIRMED', seat: 'SOLD' }));
    // The payer's other hold was released by the same checkout, before the answer.
    expect(await rowsOf([third])).toEqual([{ status: 'CANCELLED', seat: 'AVAILABLE' }]);
    const free = await freeSeats(concertId);
    expect(free).toContain(3);
    expect(free.filter((n) => n === 10 || n === 25)).toEqual([]);

    const state = await moneyOf(stack.db.dataSource, user.userId);
    expect(state.payments).toEqual([
      { id: paid.body.paymentId, reservationIds: ids, amount: 35_000, balanceAfter: 5_000 },
    ]);
    expect(state.ledger.filter((l) => l.type === 'PAYMENT')).toEqual([
      { type: 'PAYMENT', amount: 35_000, balanceAfter: 5_000, paymentId: paid.body.paymentId },
    ]);
    expect(state.balance).toBe(5_000);
    expect(await entryStatus(user.userId)).toBe('COMPLETED');
  });

  test('when reservationIds is empty, repeats an id, names more than MAX_HOLDS_PER_USER or comes with reservationId, then 400 and nothing is paid', async () => {
    const concertId = await concert();
    const user = await newUser(100_000);
    const id = await hold(user, concertId, 7);
    const max = stack.deps.config.maxHoldsPerUser;
    for (const body of [
      { reservationIds: [] },
      { reservationIds: [id, id] },
      { reservationIds: [id, ...Array.from({ length: max }, () => randomUUID())] },
      { reservationId: id, reservationIds: [id] },
      {},
    ]) {
      const res = await pay(user, body);
      expect([JSON.stringify(body), res.status, res.body.error.code]).toEqual([
        JSON.stringify(body),
        400,
        'VALIDATION_FAILED',
      ]);
    }
    expect((await rowsOf([id]))[0]).toEqual({ status: 'HELD', seat: 'HELD' });
    expect((await moneyOf(stack.db.dataSource, user.userId)).payments).toEqual([]);
  });

  test('when an ACTIVE user with enough balance pays their hold, then 201; the seat is sold, the reservation CONFIRMED and the token spent', async () => {
    const concertId = await concert();
    const user = await newUser(50_000);
    const reservationId = await hold(user, concertId, 17);
    const before = Date.now();
    const res = await pay(user, { reservationId });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      paymentId: expect.any(String),
      reservationId,
      reservationIds: [reservationId],
      amount: 17_000,
      balance: 33_000,
      paidAt: expect.any(String),
    });
    expect(Date.parse(res.body.paidAt)).toBeGreaterThanOrEqual(before - 1000);
    // The token was spent before the answer: every funnel call with it is now 403.
    expect(await entryStatus(user.userId)).toBe('COMPLETED');
    const funnel = [
      request(stack.app).get('/v1/concerts').set(user.auth),
      request(stack.app).get(`/v1/reservations/${reservationId}`).set(user.auth),
      request(stack.app).post('/v1/reservations').set(user.auth).send({ concertId, date: DATE, seatNo: 18 }),
      request(stack.app).post('/v1/payments').set(user.auth).send({ reservationId }),
    ];
    for (const r of await Promise.all(funnel))
      expect([r.status, r.body.error?.code]).toEqual([403, 'TOKEN_NOT_ACTIVE']);

    const [row] = await stack.db.dataSource.query(
      'SELECT r.status, s.status AS seat FROM reservations r JOIN seats s ON s.id = r.seat_id WHERE r.id = ?',
      [reservationId],
    );
    expect(row).toEqual({ status: 'CONFIRMED', seat: 'SOLD' });
    const state = await moneyOf(stack.db.dataSource, user.userId);
    expect(state.balance).toBe(33_000);
    expect(state.payments).toEqual([
      { id: res.body.paymentId, reservationIds: [reservationId], amount: 17_000, balanceAfter: 33_000 },
    ]);
    expect(state.ledger).toEqual([
      { type: 'PAYMENT', amount: 17_000, balanceAfter: 33_000, paymentId: res.body.paymentId },
    ]);
  });

  test('when a payment is answered, then the reservation workflow hears of it and ends CONFIRMED without releasing the seat', async () => {
    const concertId = await concert();
    const user = await newUser(50_000);
    const reservationId = await hold(user, concertId, 9);
    const handle = stack.temporal.workflow.getHandle(reservationWorkflowId(concertId, DATE, 9));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    expect((await pay(user, { reservationId })).status).toBe(201);
    // The 201 did not wait for Temporal; the workflow learns it right after (its 300 s timer is far off).
    const ended = await until(
      'the reservation workflow ends',
      () => handle.describe(),
      (d) => d.status.name !== 'RUNNING',
    );
    expect(ended.status.name).toBe('COMPLETED');
    expect((await handle.query(reservationStateQuery)).reservation?.status).toBe('CONFIRMED');
    expect((await rowsOf([reservationId]))[0]).toEqual({ status: 'CONFIRMED', seat: 'SOLD' });
  });

  test('when one token pays two different holds in two requests at once, then exactly one payment goes through and the other is 409', async () => {
    const concertId = await concert();
    const user = await newUser(100_000);
    const first = await hold(user, concertId, 11);
    const second = await hold(user, concertId, 12);
    const answers = await Promise.all([pay(user, { reservationId: first }), pay(user, { reservationId: second })]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const refused = answers.find((a) => a.status === 409)!;
    expect(refused.body.error.code).toBe('RESERVATION_NOT_HELD');
    const state = await moneyOf(stack.db.dataSource, user.userId);
    expect(state.payments).toHaveLength(1);
    const paidSeat = answers.find((a) => a.status === 201)!.body.amount as number;
    expect(state.balance).toBe(100_000 - paidSeat);
    // The paid hold is SOLD; the other one was released by the payment (the token is spent).
    const rows = await rowsOf([first, second]);
    expect(rows.map((r) => r.seat).sort()).toEqual(['AVAILABLE', 'SOLD']);
  });

  test('when the balance is short, then 402 and the hold stays; after a charge the same request pays', async () => {
    const concertId = await concert();
    const user = await newUser(9_000);
    const reservationId = await hold(user, concertId, 10);
    const short = await pay(user, { reservationId }, 'pay-10');
    expect([short.status, short.body.error.code]).toEqual([402, 'INSUFFICIENT_BALANCE']);
    expect((await reservation(user, reservationId)).status).toBe('HELD');
    expect(await entryStatus(user.userId)).toBe('ACTIVE');

    const charged = await request(stack.app)
      .post(`/v1/users/${user.userId}/balance/charge`)
      .set(user.auth)
      .send({ amount: 1_000 });
    expect(charged.status).toBe(200);
    // 402 was not stored: the same key runs again and pays.
    const paid = await pay(user, { reservationId }, 'pay-10');
    expect([paid.status, paid.body.amount, paid.body.balance]).toEqual([201, 10_000, 0]);
  });

  test('when the request is malformed, unauthenticated, not ACTIVE, or names an unknown or foreign reservation, then 400 / 401 / 403 / 404', async () => {
    const concertId = await concert();
    const owner = await newUser(100_000);
    const other = await newUser(100_000);
    const reservationId = await hold(owner, concertId, 5);

    const malformed = await pay(owner, { reservationId: 'not-a-uuid' });
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(malformed.body.error.message).toMatch(/^reservationId: /);
    const extra = await pay(owner, { reservationId, amount: 1 });
    expect(extra.status).toBe(400);
    const longKey = await pay(owner, { reservationId }, 'k'.repeat(65));
    expect(longKey.status).toBe(400);
    const anonymous = validateResponse(await request(stack.app).post('/v1/payments').send({ reservationId }));
    expect(anonymous.status).toBe(401);
    const waiting = await pay(await newUser(100_000, 'WAITING'), { reservationId });
    expect([waiting.status, waiting.body.error.code]).toEqual([403, 'TOKEN_NOT_ACTIVE']);
    const foreign = await pay(other, { reservationId });
    expect([foreign.status, foreign.body.error.code]).toEqual([404, 'RESERVATION_NOT_FOUND']);
    const unknown = await pay(owner, { reservationId: randomUUID() });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'RESERVATION_NOT_FOUND']);

    expect((await reservation(owner, reservationId)).status).toBe('HELD');
    expect((await moneyOf(stack.db.dataSource, other.userId)).balance).toBe(100_000);
  });

  test('when the hold was cancelled or has lapsed, then 409 RESERVATION_NOT_HELD and nothing is paid', async () => {
    const concertId = await concert();
    const user = await newUser(100_000);
    const cancelled = await hold(user, concertId, 1);
    expect((await request(stack.app).delete(`/v1/reservations/${cancelled}`).set(user.auth)).status).toBe(200);
    const lapsed = await hold(user, concertId, 2);
    await lapseHold(stack.db.dataSource, lapsed);
    for (const reservationId of [cancelled, lapsed]) {
      const res = await pay(user, { reservationId });
      expect([res.status, res.body.error.code]).toEqual([409, 'RESERVATION_NOT_HELD']);
    }
    expect(await moneyOf(stack.db.dataSource, user.userId)).toEqual({ balance: 100_000, ledger: [], payments: [] });
    expect(await entryStatus(user.userId)).toBe('ACTIVE');
  });

  test('when a payment reaches the api before heldUntil and its body only after, then it is judged at its arrival and paid', async () => {
    const concertId = await concert();
    const user = await newUser(100_000);
    const reservationId = await hold(user, concertId, 3);
    // The hold now lapses 400 ms from here (the workflow's own timer is still minutes away).
    const heldUntil = new Date(Date.now() + 400);
    await stack.db.dataSource.query('UPDATE reservations SET held_until = ? WHERE id = ?', [heldUntil, reservationId]);
    await stack.db.dataSource.query('UPDATE seats SET hold_expires_at = ? WHERE reservation_id = ?', [
      heldUntil,
      reservationId,
    ]);

    const server = stack.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const body = JSON.stringify({ reservationId });
    try {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/payments',
        headers: { ...user.auth, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      });
      const answered = once(req, 'response') as Promise<[http.IncomingMessage]>;
      req.flushHeaders();
      // The body follows once the hold has lapsed, as from a slow client or a busy process.
      await new Promise((resolve) => setTimeout(resolve, heldUntil.getTime() + 150 - Date.now()));
      expect(Date.now()).toBeGreaterThan(heldUntil.getTime());
      req.end(body);
      const [res] = await answered;
      let text = '';
      for await (const chunk of res) text += String(chunk);
      expect([res.statusCode, JSON.parse(text).reservationIds]).toEqual([201, [reservationId]]);
    } finally {
      server.close();
    }
    expect(await rowsOf([reservationId])).toEqual([{ status: 'CONFIRMED', seat: 'SOLD' }]);
  });

  test('when a paid request is retried with its Idempotency-Key, then the first 201 comes back although the token is spent; another body gets 409', async () => {
    const concertId = await concert();
    const user = await newUser(100_000);
    const first = await hold(user, concertId, 20);
    const paid = await pay(user, { reservationId: first }, 'pay-once');
    expect(paid.status).toBe(201);
    expect(await entryStatus(user.userId)).toBe('COMPLETED');

    const replay = await pay(user, { reservationId: first }, 'pay-once');
    expect([replay.status, replay.body]).toEqual([201, paid.body]);
    const reused = await pay(user, { reservationId: randomUUID() }, 'pay-once');
    expect([reused.status, reused.body.error.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    // Without the key the spent token is refused like any funnel call.
    const keyless = await pay(user, { reservationId: first });
    expect([keyless.status, keyless.body.error.code]).toEqual([403, 'TOKEN_NOT_ACTIVE']);
    expect((await moneyOf(stack.db.dataSource, user.userId)).payments).toHaveLength(1);
  });

  test('when a reservation is already paid, then paying it again with a new key (or none) is 409 RESERVATION_NOT_HELD', async () => {
    const concertId = await concert();
    const user = await newUser(100_000);
    const reservationId = await hold(user, concertId, 30);
    expect((await pay(user, { reservationId })).status).toBe(201);
    // A fresh ACTIVE token of the same user (a new queue entry).
    const again = await tokenFor(
      { ...stack.deps, tokenSecret: stack.deps.config.tokenSecret },
      { userId: user.userId },
    );
    for (const key of [undefined, 'new-key']) {
      const res = await pay(again, { reservationId }, key);
      expect([res.status, res.body.error.code]).toEqual([409, 'RESERVATION_NOT_HELD']);
    }
    expect((await moneyOf(stack.db.dataSource, user.userId)).payments).toHaveLength(1);
  });

  test('when 20 identical payment requests with one Idempotency-Key arrive at once, then one payment and 20 identical 201s', async () => {
    const concertId = await concert();
    const user = await newUser(100_000);
    const reservationId = await hold(user, concertId, 40);
    const results = await Promise.all(Array.from({ length: 20 }, () => pay(user, { reservationId }, 'burst-key')));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
    const state = await moneyOf(stack.db.dataSource, user.userId);
    expect(state.payments).toHaveLength(1);
    expect(state.balance).toBe(60_000);
  });

  test('when a user has paid several holds, then the payment list shows them newest first, paged by nextCursor', async () => {
    const concertId = await concert();
    const user = await newUser(1_000_000);
    const paidIds: string[] = [];
    for (const seatNo of [11, 12, 13]) {
      // Each payment spends the token, so each seat is held and paid with a fresh ACTIVE one.
      const fresh = await tokenFor(
        { ...stack.deps, tokenSecret: stack.deps.config.tokenSecret },
        { userId: user.userId },
      );
      const res = await pay(fresh, { reservationId: await hold(fresh, concertId, seatNo) });
      expect(res.status).toBe(201);
      paidIds.push(res.body.paymentId as string);
    }
    const reader = await tokenFor(
      { ...stack.deps, tokenSecret: stack.deps.config.tokenSecret },
      { userId: user.userId, status: 'WAITING' },
    );
    const list = async (query: string) =>
      validateResponse(await request(stack.app).get(`/v1/users/${user.userId}/payments${query}`).set(reader.auth));
    const firstPage = await list('?limit=2');
    const firstIds = (firstPage.body.payments as Array<{ paymentId: string }>).map((p) => p.paymentId);
    expect(firstIds).toEqual([paidIds[2], paidIds[1]]);
    expect(firstPage.body.payments[0]).toMatchObject({ amount: 13_000, balance: 1_000_000 - 36_000 });
    const secondPage = await list(`?limit=2&before=${firstPage.body.nextCursor}`);
    // The last page says so with a null cursor.
    expect(secondPage.body).toEqual({
      payments: [expect.objectContaining({ paymentId: paidIds[0] })],
      nextCursor: null,
    });
  });
});
