import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { reservationWorkflowId } from '../../src/shared/ids';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { tokenFor, type TestUser } from '../helpers/auth';
import { testConfig } from '../helpers/config';
import { validateResponse } from '../helpers/openapi';

const HOLD_SECONDS = 300;
const DATE = '2099-12-24';

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

  async function newConcert(): Promise<string> {
    const res = await request(stack.app)
      .post('/v1/admin/concerts')
      .set(adminKey)
      .send({ title: 'Reservations', dates: [DATE], price: 40_000 });
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
    await stack.db.dataSource.query('UPDATE reservations SET held_until = NOW(3) - INTERVAL 1 SECOND WHERE id = ?', [
      id,
    ]);
    await stack.db.dataSource.query(
      'UPDATE seats SET hold_expires_at = NOW(3) - INTERVAL 1 SECOND WHERE reservation_id = ?',
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
});
