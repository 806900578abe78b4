import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { tokenFor, type TestUser } from '../helpers/auth';
import { testConfig } from '../../scripts/lib/config';
import { validateResponse } from '../helpers/openapi';

describe('concerts, dates and seat maps (API)', () => {
  let stack: InProcessStack;
  let user: TestUser;
  const adminKey = { 'X-Admin-Key': 'concerts-test-admin-key' };

  beforeAll(async () => {
    stack = await startInProcessStack(testConfig({ adminApiKey: adminKey['X-Admin-Key'] }));
    user = await tokenFor({ ...stack.deps, tokenSecret: stack.deps.config.tokenSecret });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function createConcert(body: object): Promise<{ concertId: string; dates: string[] }> {
    const res = validateResponse(await request(stack.app).post('/v1/admin/concerts').set(adminKey).send(body));
    expect(res.status).toBe(201);
    return res.body as { concertId: string; dates: string[] };
  }

  /** Puts seats into a state straight in MySQL (as another user's hold or a sale would). */
  async function setSeats(concertId: string, date: string, seatNos: number[], set: string): Promise<void> {
    await stack.db.dataSource.query(
      `UPDATE seats s JOIN performances p ON p.id = s.performance_id SET ${set}
        WHERE p.concert_id = ? AND p.date = ? AND s.seat_no IN (?)`,
      [concertId, date, seatNos],
    );
  }

  /** Marks `seatNo` HELD in MySQL with a hold that has lapsed a second ago or lasts another hour. */
  const setHeld = (concertId: string, date: string, seatNo: number, hold: 'lapsed' | 'live'): Promise<void> =>
    setSeats(
      concertId,
      date,
      [seatNo],
      `s.status = 'HELD', s.hold_expires_at = UTC_TIMESTAMP(3) ${hold === 'lapsed' ? '- INTERVAL 1 SECOND' : '+ INTERVAL 1 HOUR'}`,
    );

  const seatsOf = async (concertId: string, date: string) => {
    const res = validateResponse(
      await request(stack.app).get(`/v1/concerts/${concertId}/dates/${date}/seats`).set(user.auth),
    );
    expect(res.status).toBe(200);
    return (res.body as { seats: Array<{ seatNo: number; price: number }> }).seats;
  };

  describe('POST /v1/admin/concerts', () => {
    it('when the admin key is missing or wrong, then 401', async () => {
      const body = { title: 'x', dates: ['2099-12-24'], price: 1000 };
      const missing = await request(stack.app).post('/v1/admin/concerts').send(body);
      const wrong = await request(stack.app).post('/v1/admin/concerts').set('X-Admin-Key', 'nope-nope').send(body);
      expect([missing.status, wrong.status]).toEqual([401, 401]);
      expect(missing.body.error.code).toBe('UNAUTHORIZED');
    });

    it.each([
      [{ dates: ['2099-12-24'], price: 1000 }, 'title'],
      [{ title: 'x', dates: [], price: 1000 }, 'dates'],
      [{ title: 'x', dates: ['2099-12-24', '2099-12-24'], price: 1000 }, 'dates'],
      [{ title: 'x', dates: ['2026-02-30'], price: 1000 }, 'dates.0'],
      [{ title: 'x', dates: ['2099-12-24'] }, 'price'],
      [{ title: 'x', dates: ['2099-12-24'], price: 0 }, 'price'],
      [{ title: 'x', dates: ['2099-12-24'], price: 10.5 }, 'price'],
      [{ title: 'x', dates: ['2099-12-24'], prices: { '51': 1000 } }, 'prices'],
      [{ title: 'x', dates: ['2099-12-24'], price: 1000, prices: {} }, 'prices'],
      [{ title: 'x', dates: ['2099-12-24'], prices: { '1': 1000 } }, 'prices.2'],
    ])('when the body is %j, then 400 naming %s', async (body, field) => {
      const res = validateResponse(await request(stack.app).post('/v1/admin/concerts').set(adminKey).send(body));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toMatch(new RegExp(`^${field.replace('.', '\\.')}`));
    });

    it('when a concert is created with per-seat prices, then every date has seats 1–50 priced as asked', async () => {
      const { concertId, dates } = await createConcert({
        title: 'Price check',
        dates: ['2099-12-26', '2099-12-25'],
        price: 50_000,
        prices: { '1': 90_000, '50': 30_000 },
      });
      expect(dates).toEqual(['2099-12-25', '2099-12-26']);
      const seats = await seatsOf(concertId, '2099-12-25');
      expect(seats.map((s) => s.seatNo)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(seats[0]).toEqual({ seatNo: 1, price: 90_000 });
      expect(seats[1]).toEqual({ seatNo: 2, price: 50_000 });
      expect(seats[49]).toEqual({ seatNo: 50, price: 30_000 });
      const [{ n }] = await stack.db.dataSource.query(
        'SELECT COUNT(*) AS n FROM seats s JOIN performances p ON p.id = s.performance_id WHERE p.concert_id = ?',
        [concertId],
      );
      expect(Number(n)).toBe(100);
    });
  });

  describe('GET /v1/concerts…', () => {
    it('when there is no token, then 401; with a WAITING token, then 403 TOKEN_NOT_ACTIVE', async () => {
      const waiting = await tokenFor(
        { ...stack.deps, tokenSecret: stack.deps.config.tokenSecret },
        { status: 'WAITING' },
      );
      const none = validateResponse(await request(stack.app).get('/v1/concerts'));
      const early = validateResponse(await request(stack.app).get('/v1/concerts').set(waiting.auth));
      expect(none.status).toBe(401);
      expect(early.status).toBe(403);
      expect(early.body.error.code).toBe('TOKEN_NOT_ACTIVE');
    });

    it('when a path parameter is malformed, then 400 even before the token is checked', async () => {
      const badId = await request(stack.app).get('/v1/concerts/not-a-uuid/dates');
      const badDate = await request(stack.app).get(`/v1/concerts/${randomUUID()}/dates/2026-02-30/seats`);
      const badFormat = await request(stack.app).get(`/v1/concerts/${randomUUID()}/dates/24-12-2026/seats`);
      for (const res of [badId, badDate, badFormat]) {
        validateResponse(res);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
      }
      expect(badId.body.error.message).toMatch(/^concertId/);
      expect(badDate.body.error.message).toMatch(/^date/);
    });

    it('when concerts exist, then the list names them', async () => {
      const { concertId } = await createConcert({ title: 'Listed', dates: ['2099-12-24'], price: 1000 });
      const res = validateResponse(await request(stack.app).get('/v1/concerts').set(user.auth));
      expect(res.status).toBe(200);
      expect(res.body.concerts).toContainEqual({ concertId, title: 'Listed' });
    });

    it('when some seats are taken, then dates count only free seats, ascending, and a sold-out date is left out', async () => {
      const { concertId } = await createConcert({
        title: 'Dates',
        dates: ['2099-12-31', '2099-12-24', '2099-12-28'],
        price: 1000,
      });
      const all = Array.from({ length: 50 }, (_, i) => i + 1);
      await setSeats(concertId, '2099-12-28', all, `s.status = 'SOLD'`);
      await setSeats(concertId, '2099-12-31', [1, 2, 3], `s.status = 'SOLD'`);
      // A lapsed hold counts as free, a live one does not.
      await setHeld(concertId, '2099-12-31', 4, 'lapsed');
      await setHeld(concertId, '2099-12-31', 5, 'live');

      const res = validateResponse(await request(stack.app).get(`/v1/concerts/${concertId}/dates`).set(user.auth));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        concertId,
        dates: [
          { date: '2099-12-24', availableSeats: 50 },
          { date: '2099-12-31', availableSeats: 46 },
        ],
      });
    });

    it('when the concert or the date does not exist, then 404 CONCERT_NOT_FOUND or DATE_NOT_FOUND', async () => {
      const { concertId } = await createConcert({ title: 'Known', dates: ['2099-12-24'], price: 1000 });
      const unknown = randomUUID();
      const dates = validateResponse(await request(stack.app).get(`/v1/concerts/${unknown}/dates`).set(user.auth));
      const seats = validateResponse(
        await request(stack.app).get(`/v1/concerts/${unknown}/dates/2099-12-24/seats`).set(user.auth),
      );
      const date = validateResponse(
        await request(stack.app).get(`/v1/concerts/${concertId}/dates/2099-12-25/seats`).set(user.auth),
      );
      expect([dates.status, seats.status, date.status]).toEqual([404, 404, 404]);
      expect([dates.body.error.code, seats.body.error.code, date.body.error.code]).toEqual([
        'CONCERT_NOT_FOUND',
        'CONCERT_NOT_FOUND',
        'DATE_NOT_FOUND',
      ]);
    });

    it('when a hold has lapsed in MySQL or in Redis, then its seat shows as free', async () => {
      const { concertId } = await createConcert({ title: 'Lapsed', dates: ['2099-12-24'], price: 1000 });
      await setHeld(concertId, '2099-12-24', 3, 'lapsed');
      await setHeld(concertId, '2099-12-24', 4, 'live');
      const key = stack.deps.keys.seatState(concertId, '2099-12-24');
      await stack.redis.hset(
        key,
        '5',
        `held:${randomUUID()}:${Date.now() - 1}`,
        '6',
        `pending:${randomUUID()}:${Date.now() - 1}`,
      );
      const free = (await seatsOf(concertId, '2099-12-24')).map((s) => s.seatNo);
      expect(free).toEqual(expect.arrayContaining([3, 5, 6]));
      expect(free).not.toContain(4);
      expect(free).toHaveLength(49);
    });

    it('when a seat is taken in Redis a moment after the seat map was read, then the next read hides it at once', async () => {
      const { concertId } = await createConcert({ title: 'Overlay', dates: ['2099-12-24'], price: 1000 });
      expect(await seatsOf(concertId, '2099-12-24')).toHaveLength(50); // MySQL answer now cached
      const key = stack.deps.keys.seatState(concertId, '2099-12-24');
      await stack.redis.hset(
        key,
        '7',
        `held:${randomUUID()}:${Date.now() + 60_000}`,
        '8',
        `pending:${randomUUID()}:${Date.now() + 10_000}`,
        '9',
        'sold',
      );
      const free = (await seatsOf(concertId, '2099-12-24')).map((s) => s.seatNo);
      expect(free).toHaveLength(47);
      expect(free.filter((n) => n >= 7 && n <= 9)).toEqual([]);
      const dates = await request(stack.app).get(`/v1/concerts/${concertId}/dates`).set(user.auth);
      expect(dates.body.dates).toEqual([{ date: '2099-12-24', availableSeats: 47 }]);
    });

    it('when the seat query runs, then MySQL reads it through idx_seats_performance_status', async () => {
      const { concertId } = await createConcert({ title: 'Explain', dates: ['2099-12-24'], price: 1000 });
      const [{ id }] = await stack.db.dataSource.query('SELECT id FROM performances WHERE concert_id = ?', [concertId]);
      const plan = await stack.db.dataSource.query(
        `EXPLAIN SELECT seat_no, price, CASE WHEN status = 'HELD' THEN hold_expires_at END AS hold_expires_at
           FROM seats FORCE INDEX (idx_seats_performance_status)
          WHERE performance_id = ? AND status IN ('AVAILABLE', 'HELD') ORDER BY seat_no`,
        [id],
      );
      expect(plan[0].key).toBe('idx_seats_performance_status');
    });
  });
});
