import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { QueueTokenView } from '../../src/queue';
import type { QueueSettingsView } from '../../src/queue/admin';
import { queueEntryWorkflowId } from '../../src/shared';
import type { QueueEntryState } from '../../src/shared';
import { identityFor } from '../helpers/auth';
import { percentile } from '../../scripts/lib/stats';
import { until } from '../../scripts/lib/wait';
import { useStack } from '../helpers/stack';

const USERS = 500;
const ADMIT_PER_SECOND = 50;
const MAX_ACTIVE = 100;
const TTL_SECONDS = 1;

/**
 * The queue with 2 API and 2 worker processes: one admission loop, FIFO across both APIs,
 * the configured rate and capacity, and slots coming back when their time runs out.
 */
describe('waiting queue across processes', () => {
  const h = useStack({
    config: { queueAdmitPerSecond: ADMIT_PER_SECOND, queueMaxActive: MAX_ACTIVE, activeTokenTtlSeconds: TTL_SECONDS },
    temporal: true,
    apis: 2,
    workers: 2,
  });

  const admin = (url: string, init: RequestInit = {}) =>
    fetch(`${url}/v1/admin/queue`, {
      ...init,
      headers: { 'X-Admin-Key': h.config.adminApiKey, 'Content-Type': 'application/json' },
    });
  const current = async (url: string, token: string): Promise<QueueTokenView> => {
    const res = await fetch(`${url}/v1/queue/tokens/current`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as QueueTokenView;
  };

  it('when 500 users enter at once through two APIs, then all are admitted in arrival order at the configured rate, never more than maxActive at a time', async () => {
    // Watch the active set (and the admin view) for the whole run.
    let maxActiveSeen = 0;
    let maxAdminActiveSeen = 0;
    let sampling = true;
    const sampler = (async () => {
      let round = 0;
      while (sampling) {
        maxActiveSeen = Math.max(maxActiveSeen, await h.r.redis.zcard(h.r.keys.active));
        if (round++ % 10 === 0) {
          const view = (await (await admin(h.stack.urls[round % 2]!)).json()) as QueueSettingsView;
          maxAdminActiveSeen = Math.max(maxAdminActiveSeen, view.active);
        }
        await delay(25);
      }
    })();

    const users = Array.from({ length: USERS }, () => randomUUID());
    // Identity tokens are minted before the clock starts: the login service's work, not ours.
    const identities = await Promise.all(users.map((userId) => identityFor(userId, h.config)));
    const latencies: number[] = [];
    const started = performance.now();
    const responses = await Promise.all(
      users.map(async (userId, i) => {
        const t0 = performance.now();
        const res = await fetch(`${h.stack.urls[i % 2]}/v1/queue/tokens`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...identities[i] },
          body: JSON.stringify({ userId }),
        });
        const body = (await res.json()) as QueueTokenView;
        latencies.push(performance.now() - t0);
        return { status: res.status, body };
      }),
    );
    const wallMs = performance.now() - started;
    const burstEnded = Date.now();
    latencies.sort((a, b) => a - b);
    console.log(
      `queue enqueue: ${USERS} concurrent POST /v1/queue/tokens over 2 API processes in ${wallMs.toFixed(0)} ms ` +
        `= ${((USERS * 1000) / wallMs).toFixed(0)} req/s; latency p50 ${percentile(latencies, 50).toFixed(0)} ms, ` +
        `p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${latencies[latencies.length - 1]!.toFixed(0)} ms`,
    );
    expect(responses.map((r) => r.status)).toEqual(users.map(() => 201));
    expect(new Set(responses.map((r) => r.body.token)).size).toBe(USERS);
    // An arrival costs Redis only: no user row is written on the way in.
    const [{ n: userRows }] = await h.db.dataSource.query('SELECT COUNT(*) AS n FROM users');
    expect(Number(userRows)).toBe(0);

    // Everyone gets admitted (their entry carries an activeUntil) while slots come back.
    const read = async () => {
      const pipeline = h.r.redis.pipeline();
      for (const userId of users) pipeline.hmget(h.r.keys.entry(userId), 'seq', 'activeUntil', 'status', 'workflow');
      const results = (await pipeline.exec())!;
      return results.map(([, v], i) => {
        const [seq, activeUntil, status, workflow] = v as [string, string, string, string | null];
        return { userId: users[i]!, seq: Number(seq), activeUntil: Number(activeUntil || 0), status, workflow };
      });
    };
    const entries = await until('all users were admitted', read, (all) => all.every((e) => e.activeUntil > 0), 120_000);
    sampling = false;
    await sampler;
    // The admission, not the arrival, starts each entry workflow: every admitted user has one
    // within a tick or two of being admitted.
    const withWorkflow = await until(
      'every admitted user has an entry workflow',
      read,
      (all) => all.every((e) => e.workflow === '1'),
      5_000,
    );
    expect(withWorkflow.filter((e) => e.workflow !== '1')).toEqual([]);

    // Arrival order: the sequence numbers are exactly 1..500, whichever API took the request,
    // and admission times never go backwards along them.
    const byArrival = [...entries].sort((a, b) => a.seq - b.seq);
    expect(byArrival.map((e) => e.seq)).toEqual(users.map((_, i) => i + 1));
    for (let i = 1; i < byArrival.length; i++) {
      expect(byArrival[i]!.activeUntil).toBeGreaterThanOrEqual(byArrival[i - 1]!.activeUntil);
    }

    // Capacity: never more than maxActive at once.
    expect(maxActiveSeen).toBeGreaterThan(0);
    expect(maxActiveSeen).toBeLessThanOrEqual(MAX_ACTIVE);
    expect(maxAdminActiveSeen).toBeLessThanOrEqual(MAX_ACTIVE);

    // Rate: one tick admits at most two seconds' worth (the elapsed time is capped), so
    // 500 users cannot be through faster than (500 − 2 × rate) / rate seconds.
    const perTick = new Map<number, number>();
    for (const e of entries) perTick.set(e.activeUntil, (perTick.get(e.activeUntil) ?? 0) + 1);
    expect(Math.max(...perTick.values())).toBeLessThanOrEqual(2 * ADMIT_PER_SECOND);
    const first = byArrival[0]!.activeUntil;
    const last = byArrival[byArrival.length - 1]!.activeUntil;
    const spanMs = last - first;
    expect(spanMs).toBeGreaterThanOrEqual(((USERS - 2 * ADMIT_PER_SECOND) / ADMIT_PER_SECOND) * 1000 - 100);
    // Admission alone, once the 500 POSTs no longer compete for the CPU:
    // users admitted by the ticks after the first post-burst tick, over the time those ticks took.
    const afterBurst = byArrival.filter((e) => e.activeUntil - TTL_SECONDS * 1000 >= burstEnded);
    const firstAfter = afterBurst[0]?.activeUntil ?? last;
    const afterCount = afterBurst.filter((e) => e.activeUntil > firstAfter).length;
    const afterSpanMs = last - firstAfter;
    console.log(
      `queue admission: ${USERS} users admitted over ${(spanMs / 1000).toFixed(1)} s in ${perTick.size} ticks ` +
        `(${((USERS * 1000) / Math.max(spanMs, 1)).toFixed(1)} users/s, configured ${ADMIT_PER_SECOND}/s; ` +
        `after the enqueue burst ${afterCount} users in ${(afterSpanMs / 1000).toFixed(1)} s = ` +
        `${((afterCount * 1000) / Math.max(afterSpanMs, 1)).toFixed(1)} users/s); ` +
        `most active at once ${maxActiveSeen} (max ${MAX_ACTIVE})`,
    );
  }, 180_000);

  it('when an admitted user abandons the entry, then its slot comes back when its time runs out and the next user is admitted', async () => {
    const [api1, api2] = h.stack.urls as [string, string];
    const paused = await admin(api1, { method: 'PATCH', body: JSON.stringify({ maxActive: 1, paused: true }) });
    expect(paused.status).toBe(200);
    await until(
      'the earlier entries have expired',
      () => h.r.redis.zcard(h.r.keys.active),
      (n) => n === 0,
      30_000,
    );

    const enter = async (url: string) => {
      const userId = randomUUID();
      const res = await fetch(`${url}/v1/queue/tokens`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(await identityFor(userId, h.config)) },
        body: JSON.stringify({ userId }),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as QueueTokenView;
    };
    const abandoned = await enter(api1);
    const next = await enter(api2);
    expect(next).toMatchObject({ status: 'WAITING', position: 2 });
    expect((await admin(api2, { method: 'PATCH', body: JSON.stringify({ paused: false }) })).status).toBe(200);

    // A is admitted first, then does nothing at all; B waits for the only slot.
    const admittedA = await until(
      'the first user is admitted',
      () => current(api2, abandoned.token),
      (v) => v.activeUntil !== null,
      30_000,
    );
    const admittedB = await until(
      'the next user is admitted',
      () => current(api1, next.token),
      (v) => v.status === 'ACTIVE',
      30_000,
    );
    // B's slot is A's: it was given only once A's time had run out.
    const aUntil = Date.parse(admittedA.activeUntil!);
    expect(Date.parse(admittedB.activeUntil!) - TTL_SECONDS * 1000).toBeGreaterThanOrEqual(aUntil);
    expect((await current(api2, abandoned.token)).status).toBe('EXPIRED');
    const result = (await h.temporal.workflow
      .getHandle(queueEntryWorkflowId(abandoned.userId))
      .result()) as QueueEntryState;
    expect(result.status).toBe('EXPIRED');
  }, 120_000);
});
