import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { createQueueActivities } from '../../src/activities/queue';
import { updateQueueSettings } from '../../src/queue/admin';
import { TokenService } from '../../src/api/tokens';
import type { Config } from '../../src/config';
import type { QueueService } from '../../src/queue';
import type { RedisKeys } from '../../src/redis/keys';
import type { AdmitSignal } from '../../src/shared/types';
import { testConfig } from '../helpers/config';
import { createTestDatabase } from '../helpers/db';
import type { TestDatabase } from '../helpers/db';
import { testServices } from '../helpers/services';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

/** A Temporal client double that records entry workflow starts (or fails them as told). */
function fakeTemporal(fail: (workflowId: string) => Error | null = () => null) {
  const signals: Array<{ workflowId: string; arg: AdmitSignal }> = [];
  const client = {
    workflow: {
      signalWithStart: async (_type: string, options: { workflowId: string; signalArgs: [AdmitSignal] }) => {
        const err = fail(options.workflowId);
        if (err) throw err;
        signals.push({ workflowId: options.workflowId, arg: options.signalArgs[0] });
      },
    },
  } as unknown as Client;
  return { client, signals };
}

/** Lets the next tick see a second gone by since the last one (its rate allowance depends on it). */
const aSecondPasses = async (redis: TestRedis['redis'], keys: RedisKeys): Promise<void> => {
  await redis.hset(keys.queueStats, 'lastTickMs', String(Date.now() - 1000));
};

const userOf = (workflowId: string): string => workflowId.replace(/^queue-entry:/, '');

describe('queue Redis scripts and activities', () => {
  const opened: TestRedis[] = [];
  const tokens = new TokenService('test-secret-of-sufficient-length');
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  /**
   * A fresh prefix (so each test has its own queue) and `connections` Redis connections to it;
   * the admission settings (MySQL) start from `overrides`.
   */
  async function queueWith(overrides: Partial<Config> = {}, connections = 1, temporal = fakeTemporal().client) {
    const cfg = testConfig({ ...overrides });
    const conns = Array.from({ length: connections }, () => createTestRedis(cfg.redisKeyPrefix));
    opened.push(...conns);
    const keys: RedisKeys = conns[0]!.keys;
    const redis = conns[0]!.redis;
    const all = conns.map((c) =>
      testServices({ dataSource: db.dataSource, redis: c.redis, keys, config: cfg, temporal }),
    );
    await all[0]!.queueSettings.update({
      maxActive: cfg.queueMaxActive,
      admitPerSecond: cfg.queueAdmitPerSecond,
      paused: false,
    });
    const services = all.map((s) => s.queue);
    const activities = createQueueActivities(all[0]!);
    return { cfg, keys, redis, conns, all, services, queue: services[0]!, activities };
  }

  async function enqueue(queue: QueueService, userId = randomUUID()) {
    return { userId, ...(await queue.enter(userId, tokens)) };
  }

  afterAll(async () => {
    for (const conn of opened) await conn.cleanup();
    await db?.drop();
  });

  test('when 2,000 users enqueue concurrently, then their positions are exactly 1..2000', async () => {
    const { services, redis, keys } = await queueWith({}, 8);
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => enqueue(services[i % services.length]!)));
    expect(results.every((r) => r.created && r.view.status === 'WAITING')).toBe(true);
    const positions = results.map((r) => r.view.position).sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(await redis.zcard(keys.waiting)).toBe(2000);
    // Each user's live position (ZRANK + 1) is the one it was given: nobody overtook anyone.
    const views = await services[0]!.views(results.map(({ userId, tokenId }) => ({ userId, tokenId })));
    expect(views.map((v) => v?.position)).toEqual(results.map((r) => r.view.position));
  });

  test('when a user with a live entry enqueues again, then the same token comes back and no place is added', async () => {
    const { queue, redis, keys } = await queueWith();
    const first = await enqueue(queue);
    const again = await enqueue(queue, first.userId);
    expect(again.created).toBe(false);
    expect(again.view.token).toBe(first.view.token);
    expect(again.view.position).toBe(1);
    expect(await redis.zcard(keys.waiting)).toBe(1);
  });

  test('when ticks run concurrently on several connections, then exactly the free capacity is admitted, in arrival order, once each', async () => {
    const { client, signals } = fakeTemporal();
    const { services, all, redis, keys } = await queueWith(
      { queueMaxActive: 50, queueAdmitPerSecond: 100_000 },
      4,
      client,
    );
    const users: string[] = [];
    for (let i = 0; i < 300; i++) users.push((await enqueue(services[0]!)).userId);
    const ticks = all.map((s) => createQueueActivities(s).admitTick);

    const round1 = await Promise.all(Array.from({ length: 40 }, (_, i) => ticks[i % ticks.length]!()));
    expect(round1.reduce((sum, r) => sum + r.admitted, 0)).toBe(50);
    // Every admitted user's entry workflow was started (ticks racing on one outbox may both start
    // one: signal-with-start makes the second a no-op), and nobody else's.
    expect(new Set(signals.map((s) => userOf(s.workflowId)))).toEqual(new Set(users.slice(0, 50)));
    const active = await redis.zrange(keys.active, 0, -1);
    expect(active).toHaveLength(50);
    expect(new Set(active)).toEqual(new Set(users.slice(0, 50)));
    expect(await redis.llen(keys.admitOutbox)).toBe(0);

    // Free 20 slots; the next 20 in line (and nobody else) take them, however many ticks race.
    for (const userId of users.slice(0, 20)) {
      const tokenId = (await redis.hget(keys.entry(userId), 'tokenId'))!;
      expect(await services[0]!.finish(userId, tokenId, 'COMPLETED')).toEqual({ ended: true });
    }
    await aSecondPasses(redis, keys);
    const round2 = await Promise.all(Array.from({ length: 40 }, (_, i) => ticks[i % ticks.length]!()));
    expect(round2.reduce((sum, r) => sum + r.admitted, 0)).toBe(20);
    expect(new Set(await redis.zrange(keys.active, 0, -1))).toEqual(new Set(users.slice(20, 70)));
    const statuses = await Promise.all(users.slice(0, 80).map((u) => redis.hget(keys.entry(u), 'status')));
    expect(statuses.slice(0, 20).every((s) => s === 'COMPLETED')).toBe(true);
    expect(statuses.slice(20, 70).every((s) => s === 'ACTIVE')).toBe(true);
    expect(statuses.slice(70).every((s) => s === 'WAITING')).toBe(true);
    expect(await redis.zcard(keys.waiting)).toBe(230);
  });

  test('when ticks follow each other quickly, then admissions are limited by the rate and the measured rate gives the wait estimate', async () => {
    const { queue, keys, redis, activities } = await queueWith({ queueMaxActive: 1000, queueAdmitPerSecond: 10 });
    for (let i = 0; i < 40; i++) await enqueue(queue);
    const { admitTick } = activities;
    // The first tick counts as one second: ten users.
    expect(await admitTick()).toEqual({ admitted: 10, started: 10 });
    // Milliseconds later the allowance is a fraction of a user.
    expect(await admitTick()).toEqual({ admitted: 0, started: 0 });
    expect(await redis.zcard(keys.active)).toBe(10);
    const last = await enqueue(queue);
    expect(last.view.position).toBe(31);
    // rate ≈ 10/s after the first tick (EMA nudged down by the near-empty second tick)
    const rate = Number(await redis.hget(keys.queueStats, 'rate'));
    expect(rate).toBeGreaterThan(0);
    expect(last.view.estimatedWaitSeconds).toBe(Math.ceil(31 / rate));
  });

  test('when the queue is paused, then a tick admits nobody and the wait estimate is unknown', async () => {
    const { queue, all, keys, redis, activities } = await queueWith({
      queueMaxActive: 100,
      queueAdmitPerSecond: 100_000,
    });
    const first = await enqueue(queue);
    const settings = await updateQueueSettings(all[0]!, { paused: true });
    expect(settings).toEqual({ waiting: 1, active: 0, maxActive: 100, admitPerSecond: 100_000, paused: true });
    const { admitTick } = activities;
    expect(await admitTick()).toEqual({ admitted: 0, started: 0 });
    expect((await queue.view(first.userId, first.tokenId))?.estimatedWaitSeconds).toBeNull();
    await updateQueueSettings(all[0]!, { paused: false });
    await aSecondPasses(redis, keys);
    expect(await admitTick()).toEqual({ admitted: 1, started: 1 });
    expect((await queue.view(first.userId, first.tokenId))?.status).toBe('ACTIVE');
  });

  test('when an active entry outlives its time without its timer firing, then the next tick frees the slot for the next user', async () => {
    const { queue, keys, redis, activities } = await queueWith({ queueMaxActive: 1, queueAdmitPerSecond: 100_000 });
    const a = await enqueue(queue);
    const b = await enqueue(queue);
    const { admitTick } = activities;
    expect(await admitTick()).toEqual({ admitted: 1, started: 1 });
    expect(await admitTick()).toEqual({ admitted: 0, started: 0 });
    // Its time runs out (as if the workflow timer were lost).
    await redis.hset(keys.entry(a.userId), 'activeUntil', String(Date.now() - 1));
    await redis.zadd(keys.active, Date.now() - 1, a.userId);
    await aSecondPasses(redis, keys);
    expect(await admitTick()).toEqual({ admitted: 1, started: 1 });
    expect(await redis.hget(keys.entry(a.userId), 'status')).toBe('EXPIRED');
    expect((await queue.view(b.userId, b.tokenId))?.status).toBe('ACTIVE');
    expect(await redis.zrange(keys.active, 0, -1)).toEqual([b.userId]);
  });

  test('when an entry workflow cannot be started, then the admission stays in the outbox until a later tick starts it', async () => {
    let down = true;
    const { client, signals } = fakeTemporal(() => (down ? new Error('temporal unavailable') : null));
    const { queue, keys, redis, activities } = await queueWith(
      { queueMaxActive: 10, queueAdmitPerSecond: 100_000 },
      1,
      client,
    );
    const flaky = await enqueue(queue);
    // ACTIVE at once (the gate reads Redis); its workflow start is owed.
    expect(await activities.admitTick()).toEqual({ admitted: 1, started: 0 });
    expect((await queue.view(flaky.userId, flaky.tokenId))?.status).toBe('ACTIVE');
    expect(await queue.lookup(flaky.userId)).toMatchObject({ status: 'ACTIVE', workflowId: null });
    const left = await redis.lrange(keys.admitOutbox, 0, -1);
    expect(left).toHaveLength(1);
    expect(left[0]!.startsWith(`${flaky.userId}|${flaky.tokenId}|`)).toBe(true);
    down = false;
    expect(await activities.admitTick()).toEqual({ admitted: 0, started: 1 });
    expect(await redis.llen(keys.admitOutbox)).toBe(0);
    expect(signals.map((s) => s.workflowId)).toEqual([`queue-entry:${flaky.userId}`]);
    const activeUntil = Number(await redis.hget(keys.entry(flaky.userId), 'activeUntil'));
    expect(signals[0]!.arg).toEqual({ tokenId: flaky.tokenId, activeUntil });
    expect(await queue.lookup(flaky.userId)).toMatchObject({ workflowId: `queue-entry:${flaky.userId}` });
  });

  test('when a hold extends an ACTIVE entry, then finishEntry keeps it until the new end, and never moves it down', async () => {
    const { queue, keys, redis, activities } = await queueWith({ queueMaxActive: 5, queueAdmitPerSecond: 100_000 });
    const entry = await enqueue(queue);
    expect(await queue.extend(entry.userId, Date.now() + 60_000)).toBeNull();
    await activities.admitTick();
    const until = Number(await redis.hget(keys.entry(entry.userId), 'activeUntil'));
    expect(await queue.extend(entry.userId, until - 1000)).toBe(until);
    const later = until + 120_000;
    expect(await queue.extend(entry.userId, later)).toBe(later);
    expect(Number(await redis.zscore(keys.active, entry.userId))).toBe(later);
    expect(await activities.finishEntry({ userId: entry.userId, tokenId: entry.tokenId, status: 'EXPIRED' })).toEqual({
      ended: false,
      activeUntil: later,
    });
    expect((await queue.view(entry.userId, entry.tokenId))?.status).toBe('ACTIVE');
  });

  test('when finishEntry names an old token, then the newer entry is untouched', async () => {
    const { queue, keys, redis, activities } = await queueWith();
    const entry = await enqueue(queue);
    const { finishEntry } = activities;
    await finishEntry({ userId: entry.userId, tokenId: randomUUID(), status: 'EXPIRED' });
    expect((await queue.view(entry.userId, entry.tokenId))?.status).toBe('WAITING');
    await finishEntry({ userId: entry.userId, tokenId: entry.tokenId, status: 'EXPIRED' });
    expect(await queue.view(entry.userId, entry.tokenId)).toMatchObject({ status: 'EXPIRED', position: 0 });
    expect(await redis.zscore(keys.waiting, entry.userId)).toBeNull();
    // An ended entry is replaced by a new one at the end of the line.
    const next = await enqueue(queue, entry.userId);
    expect(next.created).toBe(true);
    expect(next.view.token).not.toBe(entry.view.token);
  });

  test('when a live entry is marked completed, then its token id is returned, its slot freed, and a second call finds nothing', async () => {
    const { queue, keys, redis, activities } = await queueWith({ queueMaxActive: 5, queueAdmitPerSecond: 100_000 });
    const entry = await enqueue(queue);
    await activities.admitTick();
    expect(await redis.zscore(keys.active, entry.userId)).not.toBeNull();
    expect(await activities.markEntryCompleted({ userId: entry.userId })).toBe(entry.tokenId);
    expect(await redis.zscore(keys.active, entry.userId)).toBeNull();
    expect((await queue.view(entry.userId, entry.tokenId))?.status).toBe('COMPLETED');
    expect(await activities.markEntryCompleted({ userId: entry.userId })).toBeNull();
    // The entry's own workflow ending later as EXPIRED does not overwrite COMPLETED.
    await activities.finishEntry({ userId: entry.userId, tokenId: entry.tokenId, status: 'EXPIRED' });
    expect((await queue.view(entry.userId, entry.tokenId))?.status).toBe('COMPLETED');
    expect(await activities.markEntryCompleted({ userId: randomUUID() })).toBeNull();
  });
});
