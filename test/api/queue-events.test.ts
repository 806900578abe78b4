import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import type { Express } from 'express';
import request from 'supertest';
import { until } from '../../scripts/lib/wait';
import { createQueueActivities } from '../../src/activities/queue';
import type { AppDeps } from '../../src/api/deps';
import { errorHandler } from '../../src/api/errors';
import { authenticate } from '../../src/api/gate';
import { queueRouter } from '../../src/api/routes/queue';
import { QueueEventHub } from '../../src/queue';
import type { QueueEventHubOptions, QueueTokenView } from '../../src/queue';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { identityFor } from '../helpers/auth';
import { testConfig } from '../../scripts/lib/config';

interface SseEvent {
  event: string;
  data: QueueTokenView;
}

/** Reads a text/event-stream response event by event. */
async function openStream(baseUrl: string, token: string) {
  const controller = new AbortController();
  const res = await fetch(`${baseUrl}/v1/queue/tokens/current/events`, {
    headers: { Authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  let pendingRead: ReturnType<typeof reader.read> | null = null;

  /** The next event, or null once the server ended the stream. */
  async function next(ms = 10_000): Promise<SseEvent | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const sep = buffer.indexOf('\n\n');
      if (sep >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        const field = (name: string) =>
          block
            .split('\n')
            .find((line) => line.startsWith(`${name}: `))
            ?.slice(name.length + 2);
        return { event: field('event') ?? 'message', data: JSON.parse(field('data') ?? 'null') as QueueTokenView };
      }
      if (ended) return null;
      pendingRead ??= reader.read();
      const timeout = delay(Math.max(0, deadline - Date.now())).then(() => 'timeout' as const);
      const result = await Promise.race([pendingRead, timeout]);
      if (result === 'timeout') throw new Error(`no event within ${ms} ms`);
      pendingRead = null;
      if (result.done) ended = true;
      else buffer += decoder.decode(result.value, { stream: true });
    }
  }
  return { res, next, close: () => controller.abort() };
}

/** An API instance's queue routes on `deps`, with its own event hub (its own Redis subscriber). */
function queueApp(deps: AppDeps): { app: Express; hub: QueueEventHub } {
  const hub = new QueueEventHub(deps);
  const app = express();
  app.use(express.json());
  app.use('/v1/queue', queueRouter(deps, hub));
  app.use(errorHandler(deps.log));
  return { app, hub };
}

describe('queue events (SSE)', () => {
  let stack: InProcessStack;
  let activities: ReturnType<typeof createQueueActivities>;
  /** A second API instance with its own deps, hub and Redis subscriber. */
  let otherDeps: AppDeps;
  let otherApp: Express;
  let otherHub: QueueEventHub;
  /** This instance's queue routes and hub (the stack's own app keeps its hub to itself). */
  let ownDeps: AppDeps;
  let own: { app: Express; hub: QueueEventHub };
  const servers: Server[] = [];

  const listen = (app: Express): string => {
    const server = app.listen(0);
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const admin = () => ({ 'X-Admin-Key': stack.deps.config.adminApiKey });
  const enter = async () => {
    const userId = randomUUID();
    return (
      await request(stack.app)
        .post('/v1/queue/tokens')
        .set(await identityFor(userId))
        .send({ userId })
    ).body as QueueTokenView;
  };

  beforeAll(async () => {
    stack = await startInProcessStack(testConfig({ queueMaxActive: 1000, queueAdmitPerSecond: 100_000 }));
    activities = createQueueActivities(stack.deps);
    otherDeps = { ...stack.deps, shutdownHooks: [] };
    ({ app: otherApp, hub: otherHub } = queueApp(otherDeps));
    ownDeps = { ...stack.deps, shutdownHooks: [] };
    own = queueApp(ownDeps);
  });
  /** One admission tick, a second after the previous one (so the rate allows everyone in). */
  const tick = async () => {
    await stack.redis.hset(stack.deps.keys.queueStats, 'lastTickMs', String(Date.now() - 1000));
    return activities.admitTick();
  };
  /** Only the events route, on a hub of its own with `options`; `stop` closes the hub. */
  const streamOnlyApp = (options: QueueEventHubOptions) => {
    const hooks: Array<() => Promise<void>> = [];
    const hub = new QueueEventHub({ ...stack.deps, shutdownHooks: hooks }, options);
    const app = express();
    app.get('/v1/queue/tokens/current/events', async (req, res) => {
      await hub.open(req, res, await authenticate(stack.deps, req.headers.authorization));
    });
    const stop = async (): Promise<void> => {
      for (const hook of hooks) await hook();
    };
    return { url: listen(app), hub, stop };
  };
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    for (const hook of [...(otherDeps?.shutdownHooks ?? []), ...(ownDeps?.shutdownHooks ?? [])]) await hook();
    await stack?.stop();
  });

  it('when users ahead are admitted, then the stream delivers the position change, the ACTIVE event, and ends after EXPIRED', async () => {
    const a = await enter();
    const b = await enter();
    expect(b.position).toBe(a.position + 1);
    await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ maxActive: 1 }).expect(200);

    // The stream is served by the other instance; the ticks below publish through Redis.
    const stream = await openStream(listen(otherApp), b.token);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.res.headers.get('cache-control')).toBe('no-cache');
    const first = await stream.next();
    expect(first).toEqual({ event: 'status', data: { ...b, position: b.position } });

    await tick();
    const moved = await stream.next();
    expect(moved?.data).toMatchObject({ status: 'WAITING', position: b.position - 1, userId: b.userId });

    await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ maxActive: 2 }).expect(200);
    await tick();
    const admitted = await stream.next();
    expect(admitted?.data).toMatchObject({ status: 'ACTIVE', position: 0, estimatedWaitSeconds: 0, token: b.token });
    expect(Date.parse(admitted!.data.activeUntil!)).toBeGreaterThan(Date.now());

    // The window runs out (moved into the past here) and the entry's end is recorded and published.
    const { tokenId } = await stack.deps.tokens.verify(b.token);
    await stack.redis.hset(stack.deps.keys.entry(b.userId), 'activeUntil', String(Date.now() - 1));
    expect(await activities.finishEntry({ userId: b.userId, tokenId, status: 'EXPIRED' })).toEqual({ ended: true });
    const expired = await stream.next();
    expect(expired?.data).toMatchObject({ status: 'EXPIRED', position: 0 });
    expect(await stream.next()).toBeNull();
    expect(otherHub.clientCount).toBe(0);
  });

  it('when the client disconnects, then its stream is forgotten', async () => {
    const entry = await enter();
    const base = listen(own.app);
    const hub = own.hub;
    const before = hub.clientCount;
    const stream = await openStream(base, entry.token);
    expect((await stream.next())?.data.status).toBe('WAITING');
    expect(hub.clientCount).toBe(before + 1);
    stream.close();
    const deadline = Date.now() + 5_000;
    while (hub.clientCount !== before && Date.now() < deadline) await delay(20);
    expect(hub.clientCount).toBe(before);
  });

  it('when the token is already spent, then the stream sends COMPLETED once and ends', async () => {
    const entry = await enter();
    await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ maxActive: 1000 }).expect(200);
    await tick();
    await activities.markEntryCompleted({ userId: entry.userId });
    const stream = await openStream(listen(stack.app), entry.token);
    expect((await stream.next())?.data).toMatchObject({ status: 'COMPLETED', position: 0 });
    expect(await stream.next()).toBeNull();
  });

  it('when the line moves faster than the position interval, then one event carries the latest position, and admission goes out at once', async () => {
    await request(stack.app)
      .patch('/v1/admin/queue')
      .set(admin())
      .send({ maxActive: 1000, admitPerSecond: 1 })
      .expect(200);
    // A measured rate first, so the estimate does not go from none to some (a change of its own) below.
    await until('the admission rate is measured', async () => {
      await tick();
      return (await enter()).estimatedWaitSeconds !== null;
    });
    for (let i = 0; i < 3; i++) await enter();
    const entry = await enter();
    const { url, stop } = streamOnlyApp({ positionEveryMs: 3_000 });
    const stream = await openStream(url, entry.token);
    const first = await stream.next();
    const firstAt = Date.now();
    // Three ticks of one admission each: three position changes well inside the interval.
    for (let i = 0; i < 3; i++) expect((await tick()).admitted).toBe(1);
    const moved = await stream.next();
    expect(moved?.data).toMatchObject({ status: 'WAITING', position: first!.data.position - 3 });
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(2_900);

    // Admission is a status change: it does not wait for the interval.
    await request(stack.app).patch('/v1/admin/queue').set(admin()).send({ admitPerSecond: 100_000 }).expect(200);
    const admittedAt = Date.now();
    await tick();
    const admitted = await stream.next();
    expect(admitted?.data).toMatchObject({ status: 'ACTIVE', position: 0 });
    expect(Date.now() - admittedAt).toBeLessThan(2_000);
    stream.close();
    await stop();
  });

  it('when nothing changes, then the stream repeats the status as a heartbeat', async () => {
    const entry = await enter();
    const { url, hub, stop } = streamOnlyApp({ heartbeatMs: 300 });
    const stream = await openStream(url, entry.token);
    const first = await stream.next();
    // Nothing about the entry changes, yet the same status comes again.
    expect(await stream.next(5_000)).toEqual(first);
    stream.close();
    await stop();
    expect(hub.clientCount).toBe(0);
  });
});
