import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createQueueActivities } from '../../src/activities/queue';
import { createReservationActivities } from '../../src/activities/reservations';
import { chargeBalance } from '../../src/money/charge';
import { requestHash } from '../../src/money/idempotency';
import { ErrorType } from '../../src/shared/errors';
import type { CheckoutRequest, CheckoutResult, PaymentView, PayRequest, ReleaseRequest } from '../../src/shared/types';
import { testConfig } from '../../scripts/lib/config';
import { createTestDatabase, type TestDatabase } from '../../scripts/lib/db';
import { brokenLink, DATE, holder, lapseHold, moneyOf, newConcert, newUser } from '../helpers/money';
import { createTestRedis, type TestRedis } from '../../scripts/lib/redis';
import { testServices } from '../helpers/services';

describe('checkout activity on MariaDB', () => {
  let db: TestDatabase;
  let r: TestRedis;
  /** A checkout of one reservation, as v1's payment of it was. */
  let pay: (request: PayRequest) => Promise<PaymentView>;
  let checkout: (request: CheckoutRequest) => Promise<CheckoutResult>;
  let hold: ReturnType<typeof holder>;
  let release: (request: ReleaseRequest) => Promise<unknown>;
  const config = testConfig({ seatHoldSeconds: 300 });

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 40);
    r = createTestRedis(config.redisKeyPrefix);
    const deps = testServices({ dataSource: db.dataSource, redis: r.redis, keys: r.keys, config });
    const queueActivities = createQueueActivities(deps);
    // Through the mock environment, as the worker would run it (context, heartbeats, cancellation).
    // (the refusals these tests provoke are expected, so the activity logger stays quiet).
    const logger = new DefaultLogger('ERROR');
    checkout = (request) =>
      new MockActivityEnvironment(undefined, { logger }).run(
        (req: CheckoutRequest) => queueActivities.checkout(req),
        request,
      );
    pay = async ({ reservationId, userId, idempotencyKey, requestHash: hash }) =>
      (
        await checkout({
          userId,
          tokenId: randomUUID(),
          reservationIds: [reservationId],
          arrivedAt: Date.now(),
          ...(idempotencyKey ? { idempotencyKey, requestHash: hash ?? '' } : {}),
        })
      ).payment;
    hold = holder(deps);
    const reservations = createReservationActivities(deps);
    release = (request) => reservations.releaseSeat(request);
  });
  afterAll(async () => {
    await r?.cleanup();
    await db?.drop();
  });

  const keyed = (reservationId: string, userId: string, key: string): PayRequest => ({
    reservationId,
    userId,
    idempotencyKey: key,
    requestHash: requestHash({ reservationId }),
  });

  async function seatOf(reservationId: string) {
    const [row] = await db.dataSource.query(
      'SELECT s.status, s.hold_expires_at, s.reservation_id, r.status AS reservation FROM reservations r JOIN seats s ON s.id = r.seat_id WHERE r.id = ?',
      [reservationId],
    );
    return row as { status: string; hold_expires_at: Date | null; reservation_id: string; reservation: string };
  }

  test('when the balance covers the price, then one transaction deducts it, records payment and ledger, sells the seat and confirms the reservation', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 30_000);
    const held = await hold(userId, concertId, 17);
    const before = Date.now();
    const paid = await pay({ reservationId: held.reservationId, userId });
    expect(paid).toEqual({
      paymentId: expect.any(String),
      reservationId: held.reservationId,
      reservationIds: [held.reservationId],
      amount: 17_000,
      balance: 13_000,
      paidAt: expect.any(String),
    });
    expect(Date.parse(paid.paidAt)).toBeGreaterThanOrEqual(before - 5);
    const state = await moneyOf(db.dataSource, userId);
    expect(state.balance).toBe(13_000);
    expect(state.payments).toEqual([
      { id: paid.paymentId, reservationIds: [held.reservationId], amount: 17_000, balanceAfter: 13_000 },
    ]);
    expect(state.ledger).toEqual([
      { type: 'PAYMENT', amount: 17_000, balanceAfter: 13_000, paymentId: paid.paymentId },
    ]);
    expect(await seatOf(held.reservationId)).toEqual({
      status: 'SOLD',
      hold_expires_at: null,
      reservation_id: held.reservationId,
      reservation: 'CONFIRMED',
    });
    expect(await r.redis.hget(r.keys.seatState(concertId, DATE), '17')).toBe('sold');
  });

  test('when the balance is below the price, then INSUFFICIENT_BALANCE, nothing changes and the hold stays; after a charge the payment succeeds', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 9_999);
    const held = await hold(userId, concertId, 10);
    await expect(pay(keyed(held.reservationId, userId, 'pay-1'))).rejects.toMatchObject({
      type: ErrorType.INSUFFICIENT_BALANCE,
      nonRetryable: true,
    });
    expect(await seatOf(held.reservationId)).toMatchObject({ status: 'HELD', reservation: 'HELD' });
    expect(await moneyOf(db.dataSource, userId)).toEqual({ balance: 9_999, ledger: [], payments: [] });

    await chargeBalance(db.dataSource, { userId, amount: 1 }, { maxBalance: 1e9 });
    // The refusal was not stored: the same key runs again and now pays.
    const paid = await pay(keyed(held.reservationId, userId, 'pay-1'));
    expect(paid).toMatchObject({ amount: 10_000, balance: 0 });
    expect(await seatOf(held.reservationId)).toMatchObject({ status: 'SOLD', reservation: 'CONFIRMED' });
  });

  test('when the hold has lapsed but not yet been released, then RESERVATION_NOT_HELD and nothing is paid', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 100_000);
    const held = await hold(userId, concertId, 3);
    await lapseHold(db.dataSource, held.reservationId);
    await expect(pay({ reservationId: held.reservationId, userId })).rejects.toMatchObject({
      type: ErrorType.RESERVATION_NOT_HELD,
      nonRetryable: true,
    });
    expect(await moneyOf(db.dataSource, userId)).toEqual({ balance: 100_000, ledger: [], payments: [] });
    expect(await seatOf(held.reservationId)).toMatchObject({ status: 'HELD', reservation: 'HELD' });
  });

  test('when the hold was cancelled or already expired, then RESERVATION_NOT_HELD', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 100_000);
    const cancelled = await hold(userId, concertId, 4);
    await release({ reservationId: cancelled.reservationId, outcome: 'CANCELLED' });
    const expired = await hold(userId, concertId, 5);
    await lapseHold(db.dataSource, expired.reservationId);
    await release({ reservationId: expired.reservationId, outcome: 'EXPIRED' });
    for (const reservationId of [cancelled.reservationId, expired.reservationId]) {
      await expect(pay({ reservationId, userId })).rejects.toMatchObject({ type: ErrorType.RESERVATION_NOT_HELD });
    }
    expect((await moneyOf(db.dataSource, userId)).balance).toBe(100_000);
  });

  test("when a user pays someone else's or an unknown reservation, then RESERVATION_NOT_FOUND", async () => {
    const concertId = await newConcert(db.dataSource);
    const owner = await newUser(db.dataSource, 100_000);
    const thief = await newUser(db.dataSource, 100_000);
    const held = await hold(owner, concertId, 6);
    await expect(pay({ reservationId: held.reservationId, userId: thief })).rejects.toMatchObject({
      type: ErrorType.RESERVATION_NOT_FOUND,
      nonRetryable: true,
    });
    await expect(pay({ reservationId: randomUUID(), userId: thief })).rejects.toMatchObject({
      type: ErrorType.RESERVATION_NOT_FOUND,
    });
    expect(await seatOf(held.reservationId)).toMatchObject({ status: 'HELD', reservation: 'HELD' });
    expect((await moneyOf(db.dataSource, thief)).balance).toBe(100_000);
  });

  test('when the activity runs again after its commit (same key, or no key), then it returns the first payment and pays nothing more', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 100_000);
    const withKey = await hold(userId, concertId, 20);
    const first = await pay(keyed(withKey.reservationId, userId, 'retry-key'));
    expect(await pay(keyed(withKey.reservationId, userId, 'retry-key'))).toEqual(first);

    // Without a key, the workflow's payment id tells a retry of the committed attempt from a new payment.
    const withoutKey = await hold(userId, concertId, 21);
    const attempt = {
      userId,
      tokenId: randomUUID(),
      reservationIds: [withoutKey.reservationId],
      arrivedAt: Date.now(),
      paymentId: randomUUID(),
    };
    const second = (await checkout(attempt)).payment;
    expect(second.paymentId).toBe(attempt.paymentId);
    expect((await checkout(attempt)).payment).toEqual(second);
    await expect(checkout({ ...attempt, paymentId: randomUUID() })).rejects.toMatchObject({
      type: ErrorType.RESERVATION_NOT_HELD,
    });

    const state = await moneyOf(db.dataSource, userId);
    expect(state.payments).toHaveLength(2);
    expect(state.balance).toBe(100_000 - 20_000 - 21_000);
    // A new key for an already paid reservation is not a retry.
    await expect(pay(keyed(withKey.reservationId, userId, 'fresh-key'))).rejects.toMatchObject({
      type: ErrorType.RESERVATION_NOT_HELD,
    });
  });

  test('when a payment key is reused for another reservation or was used for a charge, then IDEMPOTENCY_KEY_REUSED and nothing is paid', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 100_000);
    const a = await hold(userId, concertId, 30);
    const b = await hold(userId, concertId, 31);
    await pay(keyed(a.reservationId, userId, 'one-key'));
    await expect(pay(keyed(b.reservationId, userId, 'one-key'))).rejects.toMatchObject({
      type: ErrorType.IDEMPOTENCY_KEY_REUSED,
      nonRetryable: true,
    });
    await chargeBalance(db.dataSource, { userId, amount: 5, idempotencyKey: 'charge-key' }, { maxBalance: 1e9 });
    await expect(pay(keyed(b.reservationId, userId, 'charge-key'))).rejects.toMatchObject({
      type: ErrorType.IDEMPOTENCY_KEY_REUSED,
    });
    // b was released by the first payment (the payer's other holds go with the spent token), and
    // the refused attempts paid nothing.
    expect(await seatOf(b.reservationId)).toMatchObject({ status: 'AVAILABLE', reservation: 'CANCELLED' });
    expect((await moneyOf(db.dataSource, userId)).payments).toHaveLength(1);
  });

  test('when two payments of one reservation race past the workflow, then the database lets exactly one through', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 100_000);
    const held = await hold(userId, concertId, 40);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => pay(keyed(held.reservationId, userId, `racer-${i}`))),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused.map((o) => (o.reason as { type?: string }).type)).toEqual(
      Array(9).fill(ErrorType.RESERVATION_NOT_HELD),
    );
    const state = await moneyOf(db.dataSource, userId);
    expect(state.payments).toHaveLength(1);
    expect(state.balance).toBe(60_000);
  });

  test('when a user pays two holds while 40 charges run concurrently, then nothing deadlocks and balance = charges − prices with an unbroken ledger', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource);
    await chargeBalance(db.dataSource, { userId, amount: 100_000 }, { maxBalance: 1e9 });
    const first = await hold(userId, concertId, 45);
    const second = await hold(userId, concertId, 46);
    const amounts = Array.from({ length: 40 }, () => 1 + Math.floor(Math.random() * 10_000));
    const [paidA, paidB] = await Promise.all([
      pay(keyed(first.reservationId, userId, 'pay-a')),
      pay({ reservationId: second.reservationId, userId }),
      ...amounts.map((amount, i) =>
        chargeBalance(
          db.dataSource,
          { userId, amount, ...(i % 2 ? { idempotencyKey: `c-${i}` } : {}) },
          { maxBalance: 1e9 },
        ),
      ),
    ]);
    expect(paidA).toMatchObject({ amount: 45_000 });
    expect(paidB).toMatchObject({ amount: 46_000 });
    const charged = 100_000 + amounts.reduce((a, b) => a + b, 0);
    const state = await moneyOf(db.dataSource, userId);
    expect(state.balance).toBe(charged - 45_000 - 46_000);
    expect(brokenLink(state.ledger)).toBeNull();
    expect(state.ledger.filter((l) => l.type === 'CHARGE').reduce((a, l) => a + l.amount, 0)).toBe(charged);
    expect(state.ledger.filter((l) => l.type === 'PAYMENT').reduce((a, l) => a + l.amount, 0)).toBe(91_000);
  });

  test('when a payment arrived before heldUntil but the timer released the hold first, then it is still paid if the seat is free', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 100_000);
    const held = await hold(userId, concertId, 21);
    const arrivedAt = Date.now();
    // The hold lapses and its timer releases it while the payment is on its way.
    await lapseHold(db.dataSource, held.reservationId);
    await release({ reservationId: held.reservationId, outcome: 'EXPIRED' });
    await db.dataSource.query('UPDATE reservations SET held_until = ? WHERE id = ?', [
      new Date(arrivedAt + 1),
      held.reservationId,
    ]);
    const { payment } = await checkout({
      userId,
      tokenId: randomUUID(),
      reservationIds: [held.reservationId],
      arrivedAt,
    });
    expect(payment.amount).toBe(21_000);
    expect(await seatOf(held.reservationId)).toMatchObject({ status: 'SOLD', reservation: 'CONFIRMED' });

    // Had someone else taken the seat in between, the payment could not have it.
    const other = await hold(userId, concertId, 22);
    const otherArrival = Date.now();
    await lapseHold(db.dataSource, other.reservationId);
    const rival = await newUser(db.dataSource);
    await hold(rival, concertId, 22);
    await db.dataSource.query('UPDATE reservations SET held_until = ? WHERE id = ?', [
      new Date(otherArrival + 1),
      other.reservationId,
    ]);
    await expect(
      checkout({ userId, tokenId: randomUUID(), reservationIds: [other.reservationId], arrivedAt: otherArrival }),
    ).rejects.toMatchObject({ type: ErrorType.RESERVATION_NOT_HELD });
  });

  test('when one payment names several holds, then all are paid in one payment, or none when the balance is short', async () => {
    const concertId = await newConcert(db.dataSource);
    const userId = await newUser(db.dataSource, 50_000);
    const a = await hold(userId, concertId, 30);
    const b = await hold(userId, concertId, 31);
    const third = await hold(userId, concertId, 32);
    const request = {
      userId,
      tokenId: randomUUID(),
      reservationIds: [a.reservationId, b.reservationId],
      arrivedAt: Date.now(),
    };
    // 30,000 + 31,000 > 50,000: nothing is paid, every hold stays.
    await expect(checkout(request)).rejects.toMatchObject({ type: ErrorType.INSUFFICIENT_BALANCE });
    for (const held of [a, b, third]) expect(await seatOf(held.reservationId)).toMatchObject({ reservation: 'HELD' });
    expect((await moneyOf(db.dataSource, userId)).payments).toEqual([]);

    await chargeBalance(db.dataSource, { userId, amount: 20_000 }, { maxBalance: config.maxBalance });
    const { payment, settled } = await checkout(request);
    expect(payment.amount).toBe(61_000);
    expect(payment.reservationIds).toEqual([a.reservationId, b.reservationId].sort());
    expect(payment.reservationId).toBe(payment.reservationIds[0]);
    const state = await moneyOf(db.dataSource, userId);
    expect(state.payments).toEqual([
      { id: payment.paymentId, reservationIds: payment.reservationIds, amount: 61_000, balanceAfter: 9_000 },
    ]);
    expect(state.ledger.filter((row) => row.type === 'PAYMENT')).toEqual([
      { type: 'PAYMENT', amount: 61_000, balanceAfter: 9_000, paymentId: payment.paymentId },
    ]);
    for (const held of [a, b])
      expect(await seatOf(held.reservationId)).toMatchObject({ status: 'SOLD', reservation: 'CONFIRMED' });
    // The payer's other hold is released at once: the token is spent, it could never be paid.
    expect(await seatOf(third.reservationId)).toMatchObject({ status: 'AVAILABLE', reservation: 'CANCELLED' });
    expect(settled.map((s) => [s.reservationId, s.outcome]).sort()).toEqual(
      [
        [a.reservationId, 'CONFIRMED'],
        [b.reservationId, 'CONFIRMED'],
        [third.reservationId, 'CANCELLED'],
      ].sort(),
    );
    expect(await r.redis.hget(r.keys.seatState(concertId, DATE), '32')).toBeNull();
  });
});
