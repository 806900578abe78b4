import { randomUUID } from 'node:crypto';
import { chargeBalance } from '../../src/money/charge';
import { ErrorType } from '../../src/shared/errors';
import { createTestDatabase, type TestDatabase } from '../../scripts/lib/db';
import { brokenLink, moneyOf, newUser } from '../helpers/money';

const MAX_BALANCE = 1_000_000_000;
const limits = { maxBalance: MAX_BALANCE };

describe('charge on MariaDB', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(undefined, 40);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const charge = (userId: string, amount: number, idempotencyKey?: string) =>
    chargeBalance(db.dataSource, { userId, amount, ...(idempotencyKey ? { idempotencyKey } : {}) }, limits);

  const keyRows = async (userId: string): Promise<number> =>
    Number((await db.dataSource.query('SELECT COUNT(*) AS n FROM idempotency_keys WHERE user_id = ?', [userId]))[0].n);

  test('when a user is charged, then the balance grows and one CHARGE ledger row records the amount and balance after', async () => {
    const userId = await newUser(db.dataSource, 20_000);
    expect(await charge(userId, 100_000)).toEqual({ userId, balance: 120_000 });
    const state = await moneyOf(db.dataSource, userId);
    expect(state.balance).toBe(120_000);
    expect(state.ledger).toEqual([{ type: 'CHARGE', amount: 100_000, balanceAfter: 120_000, paymentId: null }]);
  });

  test('when the user does not exist yet, then the charge creates it and credits the amount', async () => {
    const userId = randomUUID();
    expect(await charge(userId, 5_000)).toEqual({ userId, balance: 5_000 });
    expect((await moneyOf(db.dataSource, userId)).ledger).toHaveLength(1);
  });

  test('when a charge would take the balance over MAX_BALANCE, then BALANCE_LIMIT_EXCEEDED and nothing changes', async () => {
    const userId = await newUser(db.dataSource, MAX_BALANCE - 10);
    await expect(charge(userId, 11, 'too-much')).rejects.toMatchObject({
      type: ErrorType.BALANCE_LIMIT_EXCEEDED,
      nonRetryable: true,
    });
    // Exactly up to the limit is fine.
    expect(await charge(userId, 10)).toEqual({ userId, balance: MAX_BALANCE });
    const state = await moneyOf(db.dataSource, userId);
    expect(state.ledger).toHaveLength(1);
    expect(await keyRows(userId)).toBe(0);
  });

  test('when 200 charges of random amounts run concurrently, then the balance is their sum and the ledger is an unbroken chain', async () => {
    const userId = await newUser(db.dataSource);
    const amounts = Array.from({ length: 200 }, () => 1 + Math.floor(Math.random() * 100_000));
    // Half carry keys, so the key claim (a second locked row per charge) runs concurrently too.
    const results = await Promise.all(
      amounts.map((amount, i) => charge(userId, amount, i % 2 === 0 ? `k-${i}` : undefined)),
    );
    const sum = amounts.reduce((a, b) => a + b, 0);
    const state = await moneyOf(db.dataSource, userId);
    expect(state.balance).toBe(sum);
    expect(state.ledger).toHaveLength(200);
    expect(state.ledger.reduce((a, r) => a + r.amount, 0)).toBe(sum);
    expect(brokenLink(state.ledger)).toBeNull();
    // Every answer is a distinct point of that chain, and the last one is the sum.
    expect(new Set(results.map((r) => r.balance)).size).toBe(200);
    expect(Math.max(...results.map((r) => r.balance))).toBe(sum);
    expect(await keyRows(userId)).toBe(100);
  });

  test('when a charge is retried with the same Idempotency-Key and amount, then it is applied once and the first answer comes back', async () => {
    const userId = await newUser(db.dataSource, 1_000);
    const first = await charge(userId, 7_000, 'charge-1');
    await charge(userId, 1, 'another-key');
    const again = await charge(userId, 7_000, 'charge-1');
    expect(again).toEqual(first);
    expect(first.balance).toBe(8_000);
    const state = await moneyOf(db.dataSource, userId);
    expect(state.balance).toBe(8_001);
    expect(state.ledger.map((r) => r.amount)).toEqual([7_000, 1]);
  });

  test('when 40 identical charges with one Idempotency-Key arrive at once, then exactly one is applied and all 40 answers are identical', async () => {
    const userId = await newUser(db.dataSource);
    const results = await Promise.all(Array.from({ length: 40 }, () => charge(userId, 3_333, 'same-key')));
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(
      new Set([JSON.stringify({ userId, balance: 3_333 })]),
    );
    const state = await moneyOf(db.dataSource, userId);
    expect(state.balance).toBe(3_333);
    expect(state.ledger).toHaveLength(1);
  });

  test('when an Idempotency-Key is reused with a different amount, then IDEMPOTENCY_KEY_REUSED and the balance is unchanged', async () => {
    const userId = await newUser(db.dataSource);
    await charge(userId, 500, 'reused');
    await expect(charge(userId, 600, 'reused')).rejects.toMatchObject({
      type: ErrorType.IDEMPOTENCY_KEY_REUSED,
      nonRetryable: true,
    });
    expect((await moneyOf(db.dataSource, userId)).balance).toBe(500);
  });

  test('when the same key is used by two users, then each user has their own key', async () => {
    const a = await newUser(db.dataSource);
    const b = await newUser(db.dataSource);
    expect(await charge(a, 100, 'shared')).toEqual({ userId: a, balance: 100 });
    expect(await charge(b, 200, 'shared')).toEqual({ userId: b, balance: 200 });
  });

  test('when a keyed charge is refused, then the key is not stored and the next request with it runs afresh', async () => {
    const userId = await newUser(db.dataSource, MAX_BALANCE - 100);
    await expect(charge(userId, 101, 'retry-me')).rejects.toMatchObject({ type: ErrorType.BALANCE_LIMIT_EXCEEDED });
    expect(await keyRows(userId)).toBe(0);
    expect(await charge(userId, 100, 'retry-me')).toEqual({ userId, balance: MAX_BALANCE });
  });
});
