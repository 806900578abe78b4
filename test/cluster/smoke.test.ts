import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { SignJWT } from 'jose';
import { freePort } from '../../scripts/provision';
import { startClusterProfile, type ClusterProfile } from '../../scripts/cluster/profile';
import { isAlive, setProgressSink } from '../../scripts/cluster/proc';
import { TEMPORAL_SERVICES } from '../../scripts/cluster/temporal';

const LOG_DIR = process.env.TEST_LOG_DIR ?? '/tmp/concert-test-logs';
const HOLD_SECONDS = 3;
const ADMIN_KEY = 'cluster-smoke-admin-key';
/** Identity secret for v1.1 (ignored by processes that do not read AUTH_JWT_SECRET yet). */
const IDENTITY_SECRET = 'cluster-smoke-identity-secret-0123456789';

/**
 * The one step that depends on how a user gets a queue token. Today: `POST /v1/queue/tokens`
 * with `{"userId"}`. API v1.1 adds the identity token (`Authorization: Bearer <JWT>`, HS256
 * with AUTH_JWT_SECRET, `sub` = userId), sent here already.
 */
async function requestQueueToken(api: string, userId: string): Promise<string> {
  const identity = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(IDENTITY_SECRET));
  const res = await fetch(`${api}/v1/queue/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${identity}` },
    body: JSON.stringify({ userId }),
  });
  if (res.status !== 201) throw new Error(`token request answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Polls `read` every 50 ms until `ok`, failing after `ms`. */
async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(50);
  }
}

/**
 * Against the cluster profile (scripts/cluster/profile.ts): Temporal as four processes on
 * PostgreSQL with several history shards, Redis Cluster, nginx over two apis and two
 * workers. Infrastructure already running (npm run start:cluster) is reused; the apps are
 * this file's own, with 3-second holds, their own task queue and Redis prefix.
 */
describe('cluster profile smoke', () => {
  let profile: ClusterProfile;
  let api: string;
  let concertId: string;
  const date = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  const id = randomUUID().slice(0, 8);

  beforeAll(async () => {
    mkdirSync(LOG_DIR, { recursive: true });
    const log = path.join(LOG_DIR, `cluster-smoke-${id}.log`);
    setProgressSink((msg) => appendFileSync(log, `${new Date().toISOString()} ${msg}\n`));
    const port = await freePort();
    profile = await startClusterProfile({
      port,
      apiPorts: [await freePort(), await freePort()],
      uiPort: false,
      env: {
        SEAT_HOLD_SECONDS: String(HOLD_SECONDS),
        TEMPORAL_TASK_QUEUE: `cluster-smoke-${id}`,
        REDIS_KEY_PREFIX: `smoke:${id}:`,
        ADMIN_API_KEY: ADMIN_KEY,
        AUTH_JWT_SECRET: IDENTITY_SECRET,
      },
    });
    api = profile.urls.api;
    const created = await fetch(`${api}/v1/admin/concerts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Admin-Key': ADMIN_KEY },
      body: JSON.stringify({ title: `Cluster smoke ${id}`, dates: [date], price: 40_000 }),
    });
    if (created.status !== 201) throw new Error(`creating the concert answered ${created.status}`);
    ({ concertId } = (await created.json()) as { concertId: string });
  }, 20 * 60_000);
  afterAll(async () => {
    await profile?.stop();
  }, 120_000);

  const bearer = (token: string) => ({ 'Content-Type': 'application/json', Authorization: `Bearer ${token}` });

  async function activeUser(userId: string = randomUUID()): Promise<{ userId: string; token: string }> {
    const token = await requestQueueToken(api, userId);
    await until(
      'the token is ACTIVE',
      async () =>
        (await (await fetch(`${api}/v1/queue/tokens/current`, { headers: bearer(token) })).json()) as {
          status: string;
        },
      (v) => v.status === 'ACTIVE',
      // The first admission on a freshly started cluster waits for the admission loop's first tick, which competes
      // with the infrastructure's own start-up work; this test is about holds lapsing, not about that.
      60_000,
    );
    return { userId, token };
  }

  async function hold(token: string, seatNo: number): Promise<Response> {
    return fetch(`${api}/v1/reservations`, {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({ concertId, date, seatNo }),
    });
  }

  const freeSeats = async (token: string): Promise<number[]> => {
    const res = await fetch(`${api}/v1/concerts/${concertId}/dates/${date}/seats`, { headers: bearer(token) });
    return ((await res.json()) as { seats: Array<{ seatNo: number }> }).seats.map((s) => s.seatNo);
  };

  it('when the profile is up, then Temporal reports more than one history shard, runs four separate service processes, and /readyz answers 200', async () => {
    const connection = await Connection.connect({ address: profile.temporalAddress });
    try {
      const info = await connection.workflowService.getClusterInfo({});
      expect(info.historyShardCount).toBe(profile.numHistoryShards);
      expect(info.historyShardCount).toBeGreaterThan(1);
    } finally {
      await connection.close();
    }
    const pids = TEMPORAL_SERVICES.map((service) => profile.temporal.processes[service].pid);
    expect(new Set(pids).size).toBe(4);
    TEMPORAL_SERVICES.forEach((service, i) => {
      const pid = pids[i]!;
      expect(isAlive(pid)).toBe(true);
      // Each process runs exactly its own service.
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(argv.indexOf('--service'), argv.indexOf('--service') + 2)).toEqual(['--service', service]);
    });
    expect(profile.redisNodes).toHaveLength(3);

    const ready = await fetch(profile.urls.readyz);
    expect(ready.status).toBe(200);
  });

  it('when a hold is not paid, then it lapses on time: the reservation reads EXPIRED and another user holds the seat within a second of heldUntil', async () => {
    const first = await activeUser();
    const second = await activeUser();
    const held = await hold(first.token, 1);
    expect(held.status).toBe(201);
    const { reservationId, heldUntil } = (await held.json()) as { reservationId: string; heldUntil: string };
    const lapseAt = Date.parse(heldUntil);
    expect(lapseAt - Date.now()).toBeLessThanOrEqual(HOLD_SECONDS * 1000);
    expect(await freeSeats(second.token)).not.toContain(1);

    await delay(Math.max(0, lapseAt - Date.now()));
    await until(
      'the reservation reads EXPIRED',
      async () =>
        (await (await fetch(`${api}/v1/reservations/${reservationId}`, { headers: bearer(first.token) })).json()) as {
          status: string;
        },
      (r) => r.status === 'EXPIRED',
      5_000,
    );
    const retaken = await until(
      'another user holds the lapsed seat',
      () => hold(second.token, 1),
      (res) => res.status === 201,
      5_000,
    );
    expect(retaken.status).toBe(201);
    expect(Date.now() - lapseAt).toBeLessThan(1_500);
  }, 60_000);

  it('when a user charges and pays a held seat, then the payment is 201, the reservation CONFIRMED and the seat no longer free', async () => {
    const { userId, token } = await activeUser();
    const charged = await fetch(`${api}/v1/users/${userId}/balance/charge`, {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({ amount: 40_000 }),
    });
    expect(charged.status).toBe(200);
    const held = await hold(token, 2);
    expect(held.status).toBe(201);
    const { reservationId } = (await held.json()) as { reservationId: string };

    const paid = await fetch(`${api}/v1/payments`, {
      method: 'POST',
      headers: { ...bearer(token), 'Idempotency-Key': `smoke-${id}` },
      body: JSON.stringify({ reservationId }),
    });
    expect(paid.status).toBe(201);
    expect(await paid.json()).toMatchObject({ reservationId, amount: 40_000, balance: 0 });

    // The payment spent the token; the same user queues again to look.
    const again = await activeUser(userId);
    expect(await freeSeats(again.token)).not.toContain(2);
    const reservation = await fetch(`${api}/v1/reservations/${reservationId}`, { headers: bearer(again.token) });
    expect(await reservation.json()).toMatchObject({ status: 'CONFIRMED' });
  }, 60_000);
});
