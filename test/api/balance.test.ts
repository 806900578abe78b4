import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { tokenFor, type TestUser } from '../helpers/auth';
import { testConfig } from '../helpers/config';
import { brokenLink, moneyOf } from '../helpers/money';
import { validateResponse } from '../helpers/openapi';
import type { QueueStatus } from '../../src/shared/types';

const MAX_CHARGE = 1_000_000;
const MAX_BALANCE = 5_000_000;

describe('balance (API)', () => {
  let stack: InProcessStack;

  beforeAll(async () => {
    // No worker: balance endpoints never touch a workflow.
    stack = await startInProcessStack(testConfig({ maxChargeAmount: MAX_CHARGE, maxBalance: MAX_BALANCE }), {
      worker: false,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const newUser = (status: QueueStatus = 'WAITING', balance = 0): Promise<TestUser> =>
    tokenFor({ ...stack.deps, tokenSecret: stack.deps.config.tokenSecret }, { status, balance });

  const balance = async (user: TestUser, as: TestUser = user) =>
    validateResponse(await request(stack.app).get(`/v1/users/${user.userId}/balance`).set(as.auth));

  const charge = async (user: TestUser, body: unknown, key?: string) => {
    const req = request(stack.app).post(`/v1/users/${user.userId}/balance/charge`).set(user.auth);
    if (key !== undefined) void req.set('Idempotency-Key', key);
    return validateResponse(await req.send(body as object));
  };

  const history = async (user: TestUser, query = '') =>
    validateResponse(await request(stack.app).get(`/v1/users/${user.userId}/balance/history${query}`).set(user.auth));

  test('when a WAITING or an ACTIVE user reads their balance, then 200 with userId and balance', async () => {
    const waiting = await newUser('WAITING', 1_200);
    const active = await newUser('ACTIVE', 3_400);
    expect((await balance(waiting)).body).toEqual({ userId: waiting.userId, balance: 1_200 });
    expect((await balance(active)).body).toEqual({ userId: active.userId, balance: 3_400 });
  });

  test('when the path userId is not a UUID, then 400 naming userId, before the token is looked at', async () => {
    for (const path of ['/v1/users/nope/balance', '/v1/users/nope/balance/history', '/v1/users/123/payments']) {
      const res = validateResponse(await request(stack.app).get(path));
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/^userId: /) });
    }
    const res = validateResponse(await request(stack.app).post('/v1/users/nope/balance/charge').send({ amount: 1 }));
    expect(res.status).toBe(400);
  });

  test('when the token is missing, belongs to another user, or is EXPIRED or COMPLETED, then 401 / 403', async () => {
    const owner = await newUser('ACTIVE', 10);
    const other = await newUser('ACTIVE');
    const none = validateResponse(await request(stack.app).get(`/v1/users/${owner.userId}/balance`));
    expect(none.status).toBe(401);
    const foreign = await balance(owner, other);
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const foreignCharge = validateResponse(
      await request(stack.app).post(`/v1/users/${owner.userId}/balance/charge`).set(other.auth).send({ amount: 5 }),
    );
    expect([foreignCharge.status, foreignCharge.body.error.code]).toEqual([403, 'FORBIDDEN']);
    for (const status of ['EXPIRED', 'COMPLETED'] as const) {
      const user = await newUser(status);
      for (const res of [await balance(user), await charge(user, { amount: 5 }), await history(user)]) {
        expect([res.status, res.body.error?.code]).toEqual([403, 'TOKEN_NOT_ACTIVE']);
      }
    }
    expect((await moneyOf(stack.db.dataSource, owner.userId)).balance).toBe(10);
  });

  test('when a user charges, then 200 with the new balance, and the history shows the CHARGE', async () => {
    const user = await newUser('WAITING', 20_000);
    const res = await charge(user, { amount: 100_000 });
    expect([res.status, res.body]).toEqual([200, { userId: user.userId, balance: 120_000 }]);
    expect((await balance(user)).body.balance).toBe(120_000);
    const entries = (await history(user)).body.entries;
    expect(entries).toEqual([{ type: 'CHARGE', amount: 100_000, balanceAfter: 120_000, at: expect.any(String) }]);
    expect(Math.abs(Date.parse(entries[0].at) - Date.now())).toBeLessThan(60_000);
  });

  test('when the amount is not a positive integer up to MAX_CHARGE_AMOUNT, then 400 naming amount and nothing is charged', async () => {
    const user = await newUser('ACTIVE');
    for (const body of [
      { amount: 0 },
      { amount: -5 },
      { amount: 1.5 },
      { amount: '100' },
      { amount: MAX_CHARGE + 1 },
      {},
    ]) {
      const res = await charge(user, body);
      expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.body.error.message).toMatch(/^amount: /);
    }
    const extra = await charge(user, { amount: 5, bonus: 1 });
    expect(extra.status).toBe(400);
    expect((await charge(user, { amount: MAX_CHARGE })).body.balance).toBe(MAX_CHARGE);
    expect((await moneyOf(stack.db.dataSource, user.userId)).ledger).toHaveLength(1);
  });

  test('when a charge would take the balance over MAX_BALANCE, then 400 BALANCE_LIMIT_EXCEEDED and the balance is unchanged', async () => {
    const user = await newUser('ACTIVE', MAX_BALANCE - 100);
    const res = await charge(user, { amount: 101 });
    expect([res.status, res.body.error.code]).toEqual([400, 'BALANCE_LIMIT_EXCEEDED']);
    expect((await balance(user)).body.balance).toBe(MAX_BALANCE - 100);
    expect((await charge(user, { amount: 100 })).body.balance).toBe(MAX_BALANCE);
  });

  test('when a charge is retried with the same Idempotency-Key, then the first answer comes back; another body gets 409', async () => {
    const user = await newUser('WAITING');
    const first = await charge(user, { amount: 700 }, 'charge-2099-12-01-1');
    await charge(user, { amount: 1 });
    const replay = await charge(user, { amount: 700 }, 'charge-2099-12-01-1');
    expect([replay.status, replay.body]).toEqual([200, first.body]);
    const reused = await charge(user, { amount: 701 }, 'charge-2099-12-01-1');
    expect([reused.status, reused.body.error.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    expect((await balance(user)).body.balance).toBe(701);
  });

  test('when the Idempotency-Key is empty or longer than 64 characters, then 400 naming it', async () => {
    const user = await newUser('WAITING');
    for (const key of ['', 'k'.repeat(65)]) {
      const res = await charge(user, { amount: 5 }, key);
      expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.body.error.message).toMatch(/^Idempotency-Key: /);
    }
    expect((await charge(user, { amount: 5 }, 'k'.repeat(64))).status).toBe(200);
  });

  test('when 30 charges run concurrently, half of them one retried key, then the sum is exact and the ledger is a chain', async () => {
    const user = await newUser('ACTIVE');
    const amounts = Array.from({ length: 15 }, () => 1 + Math.floor(Math.random() * 50_000));
    const results = await Promise.all([
      ...amounts.map((amount) => charge(user, { amount })),
      ...Array.from({ length: 15 }, () => charge(user, { amount: 999 }, 'one-key')),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
    const replays = results.slice(15).map((r) => JSON.stringify(r.body));
    expect(new Set(replays).size).toBe(1);
    const state = await moneyOf(stack.db.dataSource, user.userId);
    expect(state.balance).toBe(amounts.reduce((a, b) => a + b, 0) + 999);
    expect(state.ledger).toHaveLength(16);
    expect(brokenLink(state.ledger)).toBeNull();
  });

  test('when the history is longer than a page, then pages of `limit` come newest first, chained by nextCursor', async () => {
    const user = await newUser('WAITING');
    for (let i = 1; i <= 7; i++) await charge(user, { amount: i });
    const seen: number[] = [];
    let query = '?limit=3';
    const pages: number[] = [];
    for (;;) {
      const res = await history(user, query);
      expect(res.status).toBe(200);
      pages.push(res.body.entries.length);
      seen.push(...(res.body.entries as Array<{ amount: number }>).map((e) => e.amount));
      if (!res.body.nextCursor) break;
      query = `?limit=3&before=${res.body.nextCursor}`;
    }
    expect(pages).toEqual([3, 3, 1]);
    expect((await history(user, query)).body.nextCursor).toBeNull();
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    const all = await history(user);
    // The last (here the only) page says so: nextCursor is null, not absent.
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.entries).toHaveLength(7);
  });

  test('when limit or before is malformed, then 400 naming the parameter', async () => {
    const user = await newUser('WAITING');
    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=201', 'limit'],
      ['?limit=abc', 'limit'],
      ['?before=-1', 'before'],
      ['?before=x1', 'before'],
    ]) {
      const res = await history(user, query);
      expect([res.status, res.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.body.error.message).toMatch(new RegExp(`^${field}: `));
    }
  });

  test('when a user has not paid anything, then the payment list is empty', async () => {
    const user = await newUser('ACTIVE');
    const res = validateResponse(await request(stack.app).get(`/v1/users/${user.userId}/payments`).set(user.auth));
    expect([res.status, res.body]).toEqual([200, { payments: [], nextCursor: null }]);
    const foreign = validateResponse(await request(stack.app).get(`/v1/users/${randomUUID()}/payments`).set(user.auth));
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'FORBIDDEN']);
  });
});
