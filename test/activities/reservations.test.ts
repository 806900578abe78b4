import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { createReservationActivities } from '../../src/activities/reservations';
import { createConcert } from '../../src/seats/concerts';
import { ErrorType } from '../../src/shared/errors';
import type { HoldRequest } from '../../src/shared/types';
import { testConfig } from '../../scripts/lib/config';
import { createTestDatabase, type TestDatabase } from '../../scripts/lib/db';
import { createTestRedis, type TestRedis } from '../../scripts/lib/redis';
import { testServices } from '../helpers/services';

const HOLD_SECONDS = 300;
const DATE = '2099-12-24';

describe('reservation activities on MariaDB', () => {
  let db: TestDatabase;
  let r: TestRedis;
  let activities: ReturnType<typeof createReservationActivities>;

  beforeAll(async () => {
    const config = testConfig({ seatHoldSeconds: HOLD_SECONDS });
    db = await createTestDatabase();
    r = createTestRedis(config.redisKeyPrefix);
    activities = createReservationActivities(
      testServices({ dataSource: db.dataSource, redis: r.redis, keys: r.keys, config }),
    );
  });
  afterAll(async () => {
    await r?.cleanup();
    await db?.drop();
  });

  async function newUser(): Promise<string> {
    const id = randomUUID();
    await db.dataSource.query('INSERT INTO users (id, balance) VALUES (?, 0)', [id]);
    return id;
  }

  /** A fresh concert (one date, seats priced 1000 × seat number) and a hold request for `seatNo`. */
  async function newSeat(seatNo = 7): Promise<{ concertId: string; request: () => Promise<HoldRequest> }> {
    const prices = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [i + 1, (i + 1) * 1000]));
    const { concertId } = await createConcert(db.dataSource, { title: 'Activity test', dates: [DATE], prices });
    return {
      concertId,
      request: async () => ({ reservationId: randomUUID(), userId: await newUser(), concertId, date: DATE, seatNo }),
    };
  }

  async function seatRow(concertId: string, seatNo: number) {
    const [row] = await db.dataSource.query(
      `SELECT s.status, s.reservation_id, s.holder_user_id, s.hold_expires_at
         FROM seats s JOIN performances p ON p.id = s.performance_id
        WHERE p.concert_id = ? AND p.date = ? AND s.seat_no = ?`,
      [concertId, DATE, seatNo],
    );
    return row as {
      status: string;
      reservation_id: string | null;
      holder_user_id: string | null;
      hold_expires_at: Date | null;
    };
  }

  async function reservationStatus(id: string): Promise<string | undefined> {
    const [row] = await db.dataSource.query('SELECT status FROM reservations WHERE id = ?', [id]);
    return (row as { status?: string } | undefined)?.status;
  }

  /** Moves a hold's end into the past, as if SEAT_HOLD_SECONDS had gone by without a release. */
  async function lapse(reservationId: string): Promise<void> {
    await db.dataSource.query(
      `UPDATE seats SET hold_expires_at = NOW(3) - INTERVAL 1 SECOND WHERE reservation_id = ?`,
      [reservationId],
    );
    await db.dataSource.query(`UPDATE reservations SET held_until = NOW(3) - INTERVAL 1 SECOND WHERE id = ?`, [
      reservationId,
    ]);
  }

  const field = (concertId: string, seatNo: number) => r.redis.hget(r.keys.seatState(concertId, DATE), String(seatNo));

  const failureOf = async (promise: Promise<unknown>): Promise<ApplicationFailure> => {
    const err: unknown = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  };

  it('when a free seat is held, then the seat row, the reservation and the Redis pre-filter all name the hold', async () => {
    const seat = await newSeat(7);
    const request = await seat.request();
    const before = Date.now();
    const view = await activities.holdSeat(request);

    const heldUntil = Date.parse(view.heldUntil);
    expect(view).toEqual({
      ...request,
      price: 7000,
      status: 'HELD',
      heldUntil: expect.any(String),
      remainingMs: expect.any(Number),
    });
    // What the workflow's timer counts from: the time left when the step ended.
    expect(view.remainingMs).toBeGreaterThan(0);
    expect(view.remainingMs).toBeLessThanOrEqual(Date.parse(view.heldUntil) - before);
    expect(heldUntil).toBeGreaterThanOrEqual(before + HOLD_SECONDS * 1000);
    expect(heldUntil).toBeLessThanOrEqual(Date.now() + HOLD_SECONDS * 1000);
    const row = await seatRow(seat.concertId, 7);
    expect(row).toEqual({
      status: 'HELD',
      reservation_id: request.reservationId,
      holder_user_id: request.userId,
      hold_expires_at: new Date(heldUntil),
    });
    const [reservation] = await db.dataSource.query('SELECT price, status, held_until FROM reservations WHERE id = ?', [
      request.reservationId,
    ]);
    expect(reservation).toEqual({ price: '7000', status: 'HELD', held_until: new Date(heldUntil) });
    expect(await field(seat.concertId, 7)).toBe(`held:${request.reservationId}:${heldUntil}`);
  });

  it('when the seat is held by another reservation, then the guarded update refuses it and changes nothing', async () => {
    const seat = await newSeat(8);
    const first = await activities.holdSeat(await seat.request());
    await r.redis.hdel(r.keys.seatState(seat.concertId, DATE), '8');

    const second = await seat.request();
    const failure = await failureOf(activities.holdSeat(second));
    expect(failure.type).toBe(ErrorType.SEAT_UNAVAILABLE);
    expect(failure.nonRetryable).toBe(true);
    expect((await seatRow(seat.concertId, 8)).reservation_id).toBe(first.reservationId);
    expect(await reservationStatus(second.reservationId)).toBeUndefined();
    // The refusal rebuilt the pre-filter from what MySQL saw, so later racers stop in Redis.
    expect(await field(seat.concertId, 8)).toBe(`held:${first.reservationId}:${Date.parse(first.heldUntil)}`);
  });

  it('when the previous hold has lapsed, then a new hold takes the seat and the lapsed reservation becomes EXPIRED', async () => {
    const seat = await newSeat(9);
    const first = await activities.holdSeat(await seat.request());
    await lapse(first.reservationId);

    const second = await activities.holdSeat(await seat.request());
    expect(second.status).toBe('HELD');
    expect((await seatRow(seat.concertId, 9)).reservation_id).toBe(second.reservationId);
    expect(await reservationStatus(first.reservationId)).toBe('EXPIRED');
    expect(await reservationStatus(second.reservationId)).toBe('HELD');
  });

  it('when the seat is sold, then a hold is refused and the pre-filter learns it is sold', async () => {
    const seat = await newSeat(10);
    const first = await activities.holdSeat(await seat.request());
    await db.dataSource.query(`UPDATE seats SET status = 'SOLD', hold_expires_at = NULL WHERE reservation_id = ?`, [
      first.reservationId,
    ]);
    await db.dataSource.query(`UPDATE reservations SET status = 'CONFIRMED' WHERE id = ?`, [first.reservationId]);

    const failure = await failureOf(activities.holdSeat(await seat.request()));
    expect(failure.type).toBe(ErrorType.SEAT_UNAVAILABLE);
    expect(await field(seat.concertId, 10)).toBe('sold');
  });

  it('when a hold is retried with the same reservation id after its commit, then it returns the same reservation and inserts nothing', async () => {
    const seat = await newSeat(11);
    const request = await seat.request();
    const first = await activities.holdSeat(request);
    const retried = await activities.holdSeat(request);
    expect({ ...retried, remainingMs: 0 }).toEqual({ ...first, remainingMs: 0 });
    const [{ n }] = await db.dataSource.query(
      'SELECT COUNT(*) AS n FROM reservations WHERE seat_id IN (SELECT seat_id FROM reservations WHERE id = ?)',
      [request.reservationId],
    );
    expect(Number(n)).toBe(1);
  });

  it('when 20 holds for one seat run at once, then the database lets exactly one through', async () => {
    const seat = await newSeat(12);
    const requests = await Promise.all(Array.from({ length: 20 }, () => seat.request()));
    const results = await Promise.allSettled(requests.map((req) => activities.holdSeat(req)));
    const held = results.filter((x) => x.status === 'fulfilled');
    const refused = results.filter(
      (x) => x.status === 'rejected' && (x.reason as ApplicationFailure).type === ErrorType.SEAT_UNAVAILABLE,
    );
    expect(held).toHaveLength(1);
    expect(refused).toHaveLength(19);
    const [{ n }] = await db.dataSource.query(
      `SELECT COUNT(*) AS n FROM reservations WHERE status = 'HELD' AND id IN (?)`,
      [requests.map((x) => x.reservationId)],
    );
    expect(Number(n)).toBe(1);
  });

  it('when the concert or the date is unknown, then the hold fails with CONCERT_NOT_FOUND or DATE_NOT_FOUND', async () => {
    const seat = await newSeat(1);
    const request = await seat.request();
    const noConcert = await failureOf(activities.holdSeat({ ...request, concertId: randomUUID() }));
    expect(noConcert.type).toBe(ErrorType.CONCERT_NOT_FOUND);
    const noDate = await failureOf(activities.holdSeat({ ...request, date: '2027-01-01' }));
    expect(noDate.type).toBe(ErrorType.DATE_NOT_FOUND);
    expect([noConcert.nonRetryable, noDate.nonRetryable]).toEqual([true, true]);
  });

  it('when its own hold is released, then the seat is free, the reservation has the outcome and a second release changes nothing', async () => {
    const seat = await newSeat(13);
    const held = await activities.holdSeat(await seat.request());

    const released = await activities.releaseSeat({ reservationId: held.reservationId, outcome: 'CANCELLED' });
    const { remainingMs: _left, ...heldView } = held;
    expect(released).toEqual({ ...heldView, status: 'CANCELLED' });
    expect(await seatRow(seat.concertId, 13)).toEqual({
      status: 'AVAILABLE',
      reservation_id: null,
      holder_user_id: null,
      hold_expires_at: null,
    });
    expect(await field(seat.concertId, 13)).toBeNull();

    const again = await activities.releaseSeat({ reservationId: held.reservationId, outcome: 'EXPIRED' });
    expect(again.status).toBe('CANCELLED');
    expect(await reservationStatus(held.reservationId)).toBe('CANCELLED');
  });

  it('when a lapsed hold is released after another user took the seat, then the other hold stays untouched', async () => {
    const seat = await newSeat(14);
    const first = await activities.holdSeat(await seat.request());
    await lapse(first.reservationId);
    const second = await activities.holdSeat(await seat.request());

    const released = await activities.releaseSeat({ reservationId: first.reservationId, outcome: 'EXPIRED' });
    expect(released.status).toBe('EXPIRED');
    const row = await seatRow(seat.concertId, 14);
    expect(row.status).toBe('HELD');
    expect(row.reservation_id).toBe(second.reservationId);
    expect(await reservationStatus(second.reservationId)).toBe('HELD');
    expect(await field(seat.concertId, 14)).toBe(`held:${second.reservationId}:${Date.parse(second.heldUntil)}`);
  });

  it('when a cancel arrives after heldUntil, then the reservation is recorded EXPIRED', async () => {
    const seat = await newSeat(15);
    const held = await activities.holdSeat(await seat.request());
    await lapse(held.reservationId);
    const released = await activities.releaseSeat({ reservationId: held.reservationId, outcome: 'CANCELLED' });
    expect(released.status).toBe('EXPIRED');
    expect((await seatRow(seat.concertId, 15)).status).toBe('AVAILABLE');
  });

  it('when a paid reservation is released, then the seat stays sold and the reservation confirmed', async () => {
    const seat = await newSeat(16);
    const held = await activities.holdSeat(await seat.request());
    await db.dataSource.query(`UPDATE seats SET status = 'SOLD', hold_expires_at = NULL WHERE reservation_id = ?`, [
      held.reservationId,
    ]);
    await db.dataSource.query(`UPDATE reservations SET status = 'CONFIRMED' WHERE id = ?`, [held.reservationId]);

    const released = await activities.releaseSeat({ reservationId: held.reservationId, outcome: 'EXPIRED' });
    expect(released.status).toBe('CONFIRMED');
    const row = await seatRow(seat.concertId, 16);
    expect([row.status, row.reservation_id]).toEqual(['SOLD', held.reservationId]);
  });

  it('when an unknown reservation is released, then it fails with RESERVATION_NOT_FOUND', async () => {
    const failure = await failureOf(activities.releaseSeat({ reservationId: randomUUID(), outcome: 'EXPIRED' }));
    expect(failure.type).toBe(ErrorType.RESERVATION_NOT_FOUND);
  });

  it('when one user holds MAX_HOLDS_PER_USER seats, then 10 concurrent holds of that user let exactly the limit through', async () => {
    const { concertId } = await newSeat();
    const userId = await newUser();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        activities.holdSeat({ reservationId: randomUUID(), userId, concertId, date: DATE, seatNo: 11 + i }),
      ),
    );
    const held = results.filter((x) => x.status === 'fulfilled');
    const refused = results.flatMap((x) => (x.status === 'rejected' ? [x.reason as ApplicationFailure] : []));
    expect(held).toHaveLength(4);
    expect(refused).toHaveLength(6);
    expect(refused.every((err) => err.type === ErrorType.HOLD_LIMIT_REACHED)).toBe(true);
    const [{ n }] = await db.dataSource.query(
      "SELECT COUNT(*) AS n FROM reservations WHERE user_id = ? AND status = 'HELD'",
      [userId],
    );
    expect(Number(n)).toBe(4);
  });

  it('when a lapsed hold of the user no longer counts, then the user may hold another seat', async () => {
    const { concertId } = await newSeat();
    const userId = await newUser();
    const holds = [];
    for (let seatNo = 1; seatNo <= 4; seatNo++) {
      holds.push(await activities.holdSeat({ reservationId: randomUUID(), userId, concertId, date: DATE, seatNo }));
    }
    const fifth = { reservationId: randomUUID(), userId, concertId, date: DATE, seatNo: 5 };
    expect((await failureOf(activities.holdSeat(fifth))).type).toBe(ErrorType.HOLD_LIMIT_REACHED);
    await lapse(holds[0]!.reservationId);
    expect((await activities.holdSeat(fifth)).status).toBe('HELD');
  });

  it('when the performance date is before today (UTC), then the hold fails with SALES_CLOSED and writes nothing', async () => {
    const { concertId } = await createConcert(db.dataSource, { title: 'Past', dates: ['2020-01-01'], price: 1000 });
    const request = { reservationId: randomUUID(), userId: await newUser(), concertId, date: '2020-01-01', seatNo: 1 };
    expect((await failureOf(activities.holdSeat(request))).type).toBe(ErrorType.SALES_CLOSED);
    expect(await reservationStatus(request.reservationId)).toBeUndefined();
  });

  it('when a hold is made by a user who has no row yet, then the user is created with balance 0', async () => {
    const { concertId } = await newSeat();
    const userId = randomUUID();
    await activities.holdSeat({ reservationId: randomUUID(), userId, concertId, date: DATE, seatNo: 9 });
    const [row] = await db.dataSource.query('SELECT balance FROM users WHERE id = ?', [userId]);
    expect(Number((row as { balance: string }).balance)).toBe(0);
  });
});
