import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { createQueueActivities } from '../../src/activities/queue';
import { TokenService } from '../../src/api/tokens';
import type { Config } from '../../src/config';
import { QueueService } from '../../src/queue';
import type { RedisKeys } from '../../src/redis/keys';
import type { AdmitSignal } from '../../src/shared/types';
import { testConfig } from '../../scripts/lib/config';
import { createTestRedis } from '../../scripts/lib/redis';
import type { TestRedis } from '../../scripts/lib/redis';

/** A Temporal client double that records admit signals (or fails them as told). */
function fakeTemporal(fail: (workflowId: string) => Error | null = () => null) {
  const signals: Array<{ workflowId: string; arg: AdmitSignal }> = [];
  const client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: async (_def: unknown, arg: AdmitSignal) => {
          const err = fail(workflowId);
          if (err) throw err;
          signals.push({ workflowId, arg });
        },
      }),
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

  /** A fresh prefix (so each test has its own queue) and `connections` Redis connections to it. */
  function queueWith(overrides: Partial<Config> = {}, connections = 1) {
    const cfg = testConfig({ ...overrides });
    const conns = Array.from({ length: connections }, () => createTestRedis(cfg.redisKeyPrefix));
    opened.push(...conns);
    const keys: RedisKeys = conns[0]!.keys;
    const redis = conns[0]!.redis;
    const services = conns.map((c) => new QueueService({ redis: c.redis, keys, config: cfg }));
    return { cfg, keys, redis, conns, services, queue: services[0]! };
  }

  async function enqueue(queue: QueueService, userId = randomUUID()) {
    const tokenId = randomUUID();
    const token = await tokens.sign({ userId, tokenId });
    return { userId, ...(await queue.enqueue(userId, tokenId, token)) };
  }

  afterAll(async () => {
    for (const conn of opened) await conn.cleanup();
  });

  test('when 2,000 users enqueue concurrently, then their positions are exactly 1..2000', async () => {
    const { services, redis, keys } = queueWith({}, 8);
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
    const { queue, redis, keys } = queueWith();
    const first = await enqueue(queue);
    const again = await enqueue(queue, first.userId);
    expect(again.created).toBe(false);
    expect(again.view.token).toBe(first.view.token);
    expect(again.view.position).toBe(1);
    expect(await redis.zcard(keys.waiting)).toBe(1);
  });

  test('when ticks run concurrently on several connections, then exactly the free capacity is admitted, in arrival order, once each', async () => {
    const { services, redis, keys, cfg, conns } = queueWith({ queueMaxActive: 50, queueAdmitPerSecond: 100_000 }, 4);
    const users: string[] = [];
    for (let i = 0; i < 300; i++) users.push((await enqueue(services[0]!)).userId);
    const { client, signals } = fakeTemporal();
    const ticks = conns.map(
      (c) => createQueueActivities({ redis: c.redis, keys, config: cfg, temporal: client }).admitTick,
    );

    const round1 = await Promise.all(Array.from({ length: 40 }, (_, i) => ticks[i % ticks.length]!()));
    expect(round1.reduce((sum, r) => sum + r.admitted, 0)).toBe(50);
    const active = await redis.zrange(keys.active, 0, -1);
    expect(active).toHaveLength(50);
    expect(new Set(active)).toEqual(new Set(users.slice(0, 50)));
    expect(new Set(signals.map((s) => userOf(s.workflowId)))).toEqual(new Set(users.slice(0, 50)));
    expect(await redis.llen(keys.admitOutbox)).toBe(0);

    // Free 20 slots; the next 20 in line (and nobody else) take them, however many ticks race.
    for (const userId of users.slice(0, 20)) {
      const tokenId = (await redis.hget(keys.entry(userId), 'tokenId'))!;
      expect(await services[0]!.finish(userId, tokenId, 'COMPLETED')).toBe(true);
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
    const { queue, cfg, keys, redis } = queueWith({ queueMaxActive: 1000, queueAdmitPerSecond: 10 });
    for (let i = 0; i < 40; i++) await enqueue(queue);
    const { admitTick } = createQueueActivities({ redis, keys, config: cfg, temporal: fakeTemporal().client });
    // The first tick counts as one second: ten users.
    expect(await admitTick()).toEqual({ admitted: 10 });
    // Milliseconds later the allowance is a fraction of a user.
    expect(await admitTick()).toEqual({ admitted: 0 });
    expect(await redis.zcard(keys.active)).toBe(10);
    const last = await enqueue(queue);
    expect(last.view.position).toBe(31);
    // rate ≈ 10/s after the first tick (EMA nudged down by the near-empty second tick)
    const rate = Number(await redis.hget(keys.queueStats, 'rate'));
    expect(rate).toBeGreaterThan(0);
    expect(last.view.estimatedWaitSeconds).toBe(Math.ceil(31 / rate));
  });

  test('when the queue is paused, then a tick admits nobody and the wait estimate is unknown', async () => {
    const { queue, cfg, keys, redis } = queueWith({ queueMaxActive: 100, queueAdmitPerSecond: 100_000 });
    const first = await enqueue(queue);
    const settings = await queue.updateSettings({ paused: true });
    expect(settings).toEqual({ waiting: 1, active: 0, maxActive: 100, admitPerSecond: 100_000, paused: true });
    const { admitTick } = createQueueActivities({ redis, keys, config: cfg, temporal: fakeTemporal().client });
    expect(await admitTick()).toEqual({ admitted: 0 });
    expect((await queue.view(first.userId, first.tokenId))?.estimatedWaitSeconds).toBeNull();
    await queue.updateSettings({ paused: false });
    await aSecondPasses(redis, keys);
    expect(await admitTick()).toEqual({ admitted: 1 });
    expect((await queue.view(first.userId, first.tokenId))?.status).toBe('ACTIVE');
  });

  test('when an active entry outlives its time without its timer firing, then the next tick frees the slot for the next user', async () => {
    const { queue, cfg, keys, redis } = queueWith({ queueMaxActive: 1, queueAdmitPerSecond: 100_000 });
    const a = await enqueue(queue);
    const b = await enqueue(queue);
    const { admitTick } = createQueueActivities({ redis, keys, config: cfg, temporal: fakeTemporal().client });
    expect(await admitTick()).toEqual({ admitted: 1 });
    expect(await admitTick()).toEqual({ admitted: 0 });
    // Its time runs out (as if the workflow timer were lost).
    await redis.hset(keys.entry(a.userId), 'activeUntil', String(Date.now() - 1));
    await redis.zadd(keys.active, Date.now() - 1, a.userId);
    await aSecondPasses(redis, keys);
    expect(await admitTick()).toEqual({ admitted: 1 });
    expect(await redis.hget(keys.entry(a.userId), 'status')).toBe('EXPIRED');
    expect((await queue.view(b.userId, b.tokenId))?.status).toBe('ACTIVE');
    expect(await redis.zrange(keys.active, 0, -1)).toEqual([b.userId]);
  });

  test('when an admit signal fails, then the admission stays in the outbox until a later tick delivers it', async () => {
    const { queue, cfg, keys, redis } = queueWith({ queueMaxActive: 10, queueAdmitPerSecond: 100_000 });
    const gone = await enqueue(queue);
    const flaky = await enqueue(queue);
    let down = true;
    const { client, signals } = fakeTemporal((workflowId) => {
      if (workflowId.endsWith(gone.userId)) return new WorkflowNotFoundError('gone', workflowId, undefined);
      return down ? new Error('temporal unavailable') : null;
    });
    const { admitTick } = createQueueActivities({ redis, keys, config: cfg, temporal: client });
    expect(await admitTick()).toEqual({ admitted: 2 });
    const left = await redis.lrange(keys.admitOutbox, 0, -1);
    expect(left).toHaveLength(1);
    expect(left[0]!.startsWith(`${flaky.userId}|${flaky.tokenId}|`)).toBe(true);
    down = false;
    await admitTick();
    expect(await redis.llen(keys.admitOutbox)).toBe(0);
    expect(signals.map((s) => s.workflowId)).toEqual([`queue-entry:${flaky.userId}`]);
    const activeUntil = Number(await redis.hget(keys.entry(flaky.userId), 'activeUntil'));
    expect(signals[0]!.arg).toEqual({ tokenId: flaky.tokenId, activeUntil });
  });

  test('when finishEntry names an old token, then the newer entry is untouched', async () => {
    const { queue, cfg, keys, redis } = queueWith();
    const entry = await enqueue(queue);
    const { finishEntry } = createQueueActivities({ redis, keys, config: cfg, temporal: fakeTemporal().client });
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
    const { queue, cfg, keys, redis } = queueWith({ queueMaxActive: 5, queueAdmitPerSecond: 100_000 });
    const entry = await enqueue(queue);
    const activities = createQueueActivities({ redis, keys, config: cfg, temporal: fakeTemporal().client });
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
