import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { createQueueActivities } from '../../src/activities/queue';
import { queueEntryWorkflowId, reservationWorkflowId } from '../../src/shared/ids';
import type { QueueEntryState } from '../../src/shared/types';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { identityFor, tokenFor, type TestUser } from '../helpers/auth';
import { testConfig } from '../helpers/config';
import { validateResponse } from '../helpers/openapi';

const HOLD_SECONDS = 300;
const DATE = '2099-12-24';
/** Yesterday in UTC: a performance on it has passed. */
const YESTERDAY = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

describe('reservations (API, in-process worker)', () => {
  let stack: InProcessStack;
  const adminKey = { 'X-Admin-Key': 'reservations-test-admin-key' };

  beforeAll(async () => {
    stack = await startInProcessStack(
      testConfig({ adminApiKey: adminKey['X-Admin-Key'], seatHoldSeconds: HOLD_SECONDS }),
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const newUser = (status: 'ACTIVE' | 'WAITING' = 'ACTIVE'): Promise<TestUser> =>
    tokenFor({ ...stack.deps, tokenSecret: stack.deps.config.tokenSecret }, { status });

  async function newConcert(dates = [DATE]): Promise<string> {
    const res = await request(stack.app)
      .post('/v1/admin/concerts')
      .set(adminKey)
      .send({ title: 'Reservations', dates, price: 40_000 });
    expect(res.status).toBe(201);
    return res.body.concertId as string;
  }

  const hold = async (user: TestUser, body: object) =>
    validateResponse(await request(stack.app).post('/v1/reservations').set(user.auth).send(body));

  const freeSeats = async (user: TestUser, concertId: string): Promise<number[]> => {
    const res = await request(stack.app).get(`/v1/concerts/${concertId}/dates/${DATE}/seats`).set(user.auth);
    expect(res.status).toBe(200);
    return (res.body.seats as Array<{ seatNo: number }>).map((s) => s.seatNo);
  };

  const seatRow = async (concertId: string, seatNo: number) => {
    const [row] = await stack.db.dataSource.query(
      `SELECT s.status, s.reservation_id FROM seats s JOIN performances p ON p.id = s.performance_id
        WHERE p.concert_id = ? AND p.date = ? AND s.seat_no = ?`,
      [concertId, DATE, seatNo],
    );
    return row as { status: string; reservation_id: string | null };
  };

  it('when there is no token, then 401; with a WAITING token, then 403 TOKEN_NOT_ACTIVE', async () => {
    const body = { concertId: randomUUID(), date: DATE, seatNo: 1 };
    const none = validateResponse(await request(stack.app).post('/v1/reservations').send(body));
    const waiting = await hold(await newUser('WAITING'), body);
    expect([none.status, waiting.status]).toEqual([401, 403]);
    expect(waiting.body.error.code).toBe('TOKEN_NOT_ACTIVE');
  });

  it.each([
    [{ concertId: 'x', date: DATE, seatNo: 1 }, 'concertId'],
    [{ concertId: randomUUID(), date: '2026-13-01', seatNo: 1 }, 'date'],
    [{ concertId: randomUUID(), date: DATE, seatNo: 0 }, 'seatNo'],
    [{ concertId: randomUUID(), date: DATE, seatNo: 51 }, 'seatNo'],
    [{ concertId: randomUUID(), date: DATE, seatNo: 1.5 }, 'seatNo'],
    [{ concertId: randomUUID(), date: DATE, seatNo: '7' }, 'seatNo'],
    [{ concertId: randomUUID(), date: DATE }, 'seatNo'],
  ])('when the body is %j, then 400 naming %s', async (body, field) => {
    const res = await hold(await newUser(), body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.message).toMatch(new RegExp(`^${field}`));
  });

  it('when the concert or the date does not exist, then 404 and nothing is claimed', async () => {
    const user = await newUser();
    const concertId = await newConcert();
    const unknown = randomUUID();
    const noConcert = await hold(user, { concertId: unknown, date: DATE, seatNo: 1 });
    const noDate = await hold(user, { concertId, date: '2099-12-25', seatNo: 1 });
    expect([noConcert.status, noDate.status]).toEqual([404, 404]);
    expect([noConcert.body.error.code, noDate.body.error.code]).toEqual(['CONCERT_NOT_FOUND', 'DATE_NOT_FOUND']);
    expect(await stack.redis.exists(stack.deps.keys.seatState(unknown, DATE))).toBe(0);
  });

  it('when a free seat is held, then 201 HELD until SEAT_HOLD_SECONDS from now, and the seat leaves the seat map', async () => {
    const user = await newUser();
    const concertId = await newConcert();
    expect(await freeSeats(user, concertId)).toContain(17); // warms the 500 ms MySQL cache
    const before = Date.now();
    const res = await hold(user, { concertId, date: DATE, seatNo: 17 });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      reservationId: expect.any(String),
      userId: user.userId,
      concertId,
      date: DATE,
      seatNo: 17,
      price: 40_000,
      status: 'HELD',
      heldUntil: expect.any(String),
    });
    const heldUntil = Date.parse(res.body.heldUntil);
    expect(heldUntil).toBeGreaterThanOrEqual(before + HOLD_SECONDS * 1000);
    expect(heldUntil).toBeLessThanOrEqual(Date.now() + HOLD_SECONDS * 1000);
    expect(await freeSeats(user, concertId)).not.toContain(17);
    expect(await seatRow(concertId, 17)).toEqual({ status: 'HELD', reservation_id: res.body.reservationId });

    const read = validateResponse(
      await request(stack.app).get(`/v1/reservations/${res.body.reservationId}`).set(user.auth),
    );
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);
  });

  it('when a held seat is asked for again, then 409 SEAT_UNAVAILABLE from the pre-filter, without a workflow call or a second reservation', async () => {
    const concertId = await newConcert();
    const first = await hold(await newUser(), { concertId, date: DATE, seatNo: 3 });
    expect(first.status).toBe(201);
    const workflowCalls = jest.spyOn(stack.temporal.workflow, 'executeUpdateWithStart');
    try {
      const second = await hold(await newUser(), { concertId, date: DATE, seatNo: 3 });
      expect(second.status).toBe(409);
      expect(second.body.error.code).toBe('SEAT_UNAVAILABLE');
      expect(workflowCalls).not.toHaveBeenCalled();
    } finally {
      workflowCalls.mockRestore();
    }
    const rows = await stack.db.dataSource.query(
      `SELECT r.id FROM reservations r JOIN seats s ON s.id = r.seat_id JOIN performances p ON p.id = s.performance_id
        WHERE p.concert_id = ?`,
      [concertId],
    );
    expect(rows).toEqual([{ id: first.body.reservationId }]);
  });

  it('when Redis has forgotten a held seat, then the running workflow still refuses a second hold (409) and MySQL is unchanged', async () => {
    const concertId = await newConcert();
    const first = await hold(await newUser(), { concertId, date: DATE, seatNo: 4 });
    expect(first.status).toBe(201);
    await stack.redis.del(stack.deps.keys.seatState(concertId, DATE));
    const second = await hold(await newUser(), { concertId, date: DATE, seatNo: 4 });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('SEAT_UNAVAILABLE');
    expect(await seatRow(concertId, 4)).toEqual({ status: 'HELD', reservation_id: first.body.reservationId });
    // The refused request took back its own pending claim.
    expect(await stack.redis.hget(stack.deps.keys.seatState(concertId, DATE), '4')).toBeNull();
  });

  it('when another user reads or cancels a reservation, or the id is unknown, then 404 RESERVATION_NOT_FOUND', async () => {
    const owner = await newUser();
    const other = await newUser();
    const concertId = await newConcert();
    const held = await hold(owner, { concertId, date: DATE, seatNo: 5 });
    const id = held.body.reservationId as string;
    const responses = [
      await request(stack.app).get(`/v1/reservations/${id}`).set(other.auth),
      await request(stack.app).delete(`/v1/reservations/${id}`).set(other.auth),
      await request(stack.app).get(`/v1/reservations/${randomUUID()}`).set(owner.auth),
      await request(stack.app).delete(`/v1/reservations/${randomUUID()}`).set(owner.auth),
    ].map(validateResponse);
    expect(responses.map((r) => r.status)).toEqual([404, 404, 404, 404]);
    expect(responses.map((r) => (r.body as { error: { code: string } }).error.code)).toEqual(
      Array(4).fill('RESERVATION_NOT_FOUND'),
    );
    expect((await seatRow(concertId, 5)).status).toBe('HELD');
  });

  it('when a reservation id is malformed, then 400 before the token is checked', async () => {
    const get = validateResponse(await request(stack.app).get('/v1/reservations/123'));
    const del = validateResponse(await request(stack.app).delete('/v1/reservations/123'));
    expect([get.status, del.status]).toEqual([400, 400]);
    expect(get.body.error.message).toMatch(/^reservationId/);
  });

  it('when the owner cancels, then 200 CANCELLED, the seat is free for the next user, and a second cancel is 409', async () => {
    const owner = await newUser();
    const concertId = await newConcert();
    const held = await hold(owner, { concertId, date: DATE, seatNo: 6 });
    const id = held.body.reservationId as string;

    const cancelled = validateResponse(await request(stack.app).delete(`/v1/reservations/${id}`).set(owner.auth));
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ ...held.body, status: 'CANCELLED' });
    expect(await seatRow(concertId, 6)).toEqual({ status: 'AVAILABLE', reservation_id: null });
    const read = await request(stack.app).get(`/v1/reservations/${id}`).set(owner.auth);
    expect(read.body.status).toBe('CANCELLED');
    expect(await stack.redis.hget(stack.deps.keys.seatState(concertId, DATE), '6')).toBeNull();

    const again = validateResponse(await request(stack.app).delete(`/v1/reservations/${id}`).set(owner.auth));
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('RESERVATION_NOT_HELD');

    const next = await hold(await newUser(), { concertId, date: DATE, seatNo: 6 });
    expect(next.status).toBe(201);
  });

  it('when heldUntil has passed but the release has not run yet, then the reservation reads EXPIRED, its seat is free and cancel is 409', async () => {
    const owner = await newUser();
    const concertId = await newConcert();
    const held = await hold(owner, { concertId, date: DATE, seatNo: 8 });
    const id = held.body.reservationId as string;
    // As if the five minutes had passed while the workflow's timer is still pending.
    await stack.db.dataSource.query(
      'UPDATE reservations SET held_until = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE id = ?',
      [id],
    );
    await stack.db.dataSource.query(
      'UPDATE seats SET hold_expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE reservation_id = ?',
      [id],
    );
    await stack.redis.hset(stack.deps.keys.seatState(concertId, DATE), '8', `held:${id}:${Date.now() - 1000}`);

    const read = validateResponse(await request(stack.app).get(`/v1/reservations/${id}`).set(owner.auth));
    expect(read.body.status).toBe('EXPIRED');
    expect(await freeSeats(owner, concertId)).toContain(8);
    const cancel = validateResponse(await request(stack.app).delete(`/v1/reservations/${id}`).set(owner.auth));
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.code).toBe('RESERVATION_NOT_HELD');
  });

  it('when the workflow run that held a reservation is gone, then cancel answers 409 RESERVATION_NOT_HELD', async () => {
    const owner = await newUser();
    const concertId = await newConcert();
    const held = await hold(owner, { concertId, date: DATE, seatNo: 9 });
    await stack.temporal.workflow.getHandle(reservationWorkflowId(concertId, DATE, 9)).terminate('test');
    const cancel = validateResponse(
      await request(stack.app).delete(`/v1/reservations/${held.body.reservationId}`).set(owner.auth),
    );
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.code).toBe('RESERVATION_NOT_HELD');
  });

  it('when 30 users ask for one seat at once, then exactly one gets 201 and 29 get 409', async () => {
    const concertId = await newConcert();
    const users = await Promise.all(Array.from({ length: 30 }, () => newUser()));
    const responses = await Promise.all(users.map((u) => hold(u, { concertId, date: DATE, seatNo: 10 })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(29);
    const rows = await stack.db.dataSource.query(
      `SELECT r.status FROM reservations r JOIN seats s ON s.id = r.seat_id JOIN performances p ON p.id = s.performance_id
        WHERE p.concert_id = ?`,
      [concertId],
    );
    expect(rows).toEqual([{ status: 'HELD' }]);
  });
  it('when one user asks for 10 seats at once, then exactly MAX_HOLDS_PER_USER are held and the rest get 409 HOLD_LIMIT_REACHED', async () => {
    const max = stack.deps.config.maxHoldsPerUser;
    expect(max).toBe(4);
    const user = await newUser();
    const concertId = await newConcert();
    const seatNos = Array.from({ length: 10 }, (_, i) => 11 + i);
    const responses = await Promise.all(seatNos.map((seatNo) => hold(user, { concertId, date: DATE, seatNo })));
    const held = responses.filter((r) => r.status === 201);
    const refused = responses.filter((r) => r.status === 409);
    expect(held).toHaveLength(max);
    expect(refused).toHaveLength(10 - max);
    expect(refused.map((r) => (r.body as { error: { code: string } }).error.code)).toEqual(
      Array(10 - max).fill('HOLD_LIMIT_REACHED'),
    );
    const rows = await stack.db.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM reservations WHERE user_id = ? AND status = 'HELD'`,
      [user.userId],
    );
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(held.map((r) => r.body.reservationId as string)));

    // A refused seat is left free: its claim was taken back, and another user holds it.
    const heldSeats = new Set(held.map((r) => r.body.seatNo as number));
    const refusedSeat = seatNos.find((n) => !heldSeats.has(n))!;
    expect(await stack.redis.hget(stack.deps.keys.seatState(concertId, DATE), String(refusedSeat))).toBeNull();
    expect((await hold(await newUser(), { concertId, date: DATE, seatNo: refusedSeat })).status).toBe(201);

    // The limit counts live holds: once one is let go, the user may hold another.
    const [first] = held;
    expect(
      (await request(stack.app).delete(`/v1/reservations/${first!.body.reservationId}`).set(user.auth)).status,
    ).toBe(200);
    const spare = seatNos.find((n) => !heldSeats.has(n) && n !== refusedSeat)!;
    expect((await hold(user, { concertId, date: DATE, seatNo: spare })).status).toBe(201);
    expect((await hold(user, { concertId, date: DATE, seatNo: 30 })).body.error?.code).toBe('HOLD_LIMIT_REACHED');
  });

  it('when a performance date has passed, then /dates leaves it out and a hold on it is 409 SALES_CLOSED with nothing claimed', async () => {
    const user = await newUser();
    const concertId = await newConcert([YESTERDAY, DATE]);
    const dates = validateResponse(await request(stack.app).get(`/v1/concerts/${concertId}/dates`).set(user.auth));
    expect(dates.status).toBe(200);
    expect(dates.body.dates).toEqual([{ date: DATE, availableSeats: 50 }]);

    const closed = await hold(user, { concertId, date: YESTERDAY, seatNo: 1 });
    expect([closed.status, closed.body.error.code]).toEqual([409, 'SALES_CLOSED']);
    expect(await stack.redis.exists(stack.deps.keys.seatState(concertId, YESTERDAY))).toBe(0);
    expect(await stack.db.dataSource.query('SELECT id FROM reservations WHERE user_id = ?', [user.userId])).toEqual([]);
    expect((await hold(user, { concertId, date: DATE, seatNo: 1 })).status).toBe(201);
  });
});

/**
 * A hold keeps its user admitted until it lapses (short windows: ACTIVE_TOKEN_TTL_SECONDS=2,
 * SEAT_HOLD_SECONDS=5), through the real queue: token, admission tick, entry workflow.
 */
describe('a hold extends the active window (API, in-process worker)', () => {
  let stack: InProcessStack;
  const adminKey = { 'X-Admin-Key': 'extension-test-admin-key' };
  const TTL_SECONDS = 2;
  const SHORT_HOLD_SECONDS = 5;

  beforeAll(async () => {
    stack = await startInProcessStack(
      testConfig({
        adminApiKey: adminKey['X-Admin-Key'],
        activeTokenTtlSeconds: TTL_SECONDS,
        seatHoldSeconds: SHORT_HOLD_SECONDS,
        queueMaxActive: 1000,
        queueAdmitPerSecond: 100_000,
      }),
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when an admitted user holds a seat, then activeUntil moves to heldUntil: the token stays ACTIVE past its window until the hold lapses', async () => {
    const activities = createQueueActivities(stack.deps);
    const tick = async () => {
      await stack.redis.hset(stack.deps.keys.queueStats, 'lastTickMs', String(Date.now() - 1000));
      return activities.admitTick();
    };
    const created = await request(stack.app)
      .post('/v1/admin/concerts')
      .set(adminKey)
      .send({ title: 'Extension', dates: [DATE], price: 1_000 });
    expect(created.status).toBe(201);
    const userId = randomUUID();
    const entered = await request(stack.app)
      .post('/v1/queue/tokens')
      .set(await identityFor(userId))
      .send({ userId });
    expect(entered.status).toBe(201);
    const auth = { Authorization: `Bearer ${entered.body.token as string}` };
    const current = async () =>
      (await request(stack.app).get('/v1/queue/tokens/current').set(auth)).body as {
        status: string;
        activeUntil: string;
      };
    await tick();
    const admitted = await current();
    expect(admitted.status).toBe('ACTIVE');
    const windowEnd = Date.parse(admitted.activeUntil);

    const held = await request(stack.app)
      .post('/v1/reservations')
      .set(auth)
      .send({ concertId: created.body.concertId, date: DATE, seatNo: 1 });
    expect(held.status).toBe(201);
    const heldUntil = Date.parse(held.body.heldUntil);
    expect(heldUntil).toBeGreaterThan(windowEnd);
    expect(Date.parse((await current()).activeUntil)).toBeGreaterThanOrEqual(heldUntil);

    // Past the original window (the clock is the event): the entry workflow's timer has fired and
    // an admission tick has swept lapsed slots, yet the user is still admitted and may pay.
    await delay(Math.max(0, windowEnd + 500 - Date.now()));
    await tick();
    expect((await current()).status).toBe('ACTIVE');
    const read = await request(stack.app).get(`/v1/reservations/${held.body.reservationId}`).set(auth);
    expect([read.status, read.body.status]).toEqual([200, 'HELD']);
    const lookup = await request(stack.app).get(`/v1/admin/queue/users/${userId}`).set(adminKey);
    expect(lookup.body).toMatchObject({ status: 'ACTIVE', workflowId: queueEntryWorkflowId(userId) });
    expect(await stack.redis.zscore(stack.deps.keys.active, userId)).not.toBeNull();

    // Once the hold lapses, so does the entry: its workflow ends it EXPIRED.
    const ended = (await stack.temporal.workflow.getHandle(queueEntryWorkflowId(userId)).result()) as QueueEntryState;
    expect(ended.status).toBe('EXPIRED');
    expect(Date.now()).toBeGreaterThanOrEqual(heldUntil);
    expect((await current()).status).toBe('EXPIRED');
  }, 30_000);
});
