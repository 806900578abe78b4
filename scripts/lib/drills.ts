/**
 * Fault drills: the service under load while its parts fail. Each drill returns the
 * invariants it checked (read from MySQL, Temporal and the API) and what it measured;
 * `npm run drill` (bench/drill.ts) runs them at full size, test/integration/drill.test.ts in a short form.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Config } from '../../src/config';
import { createDataSource } from '../../src/db/data-source';
import { queueEntryWorkflowId } from '../../src/shared/ids';
import { ServiceApi, identityEnv } from './api';
import type { Reservation } from './api';
import { moneyCheck, moneyTotals, paymentsPresent, seatChecks, seatStatuses } from './checks';
import { chargeWinners, holdEach, payWins, sellOut } from './flows';
import type { PayOutcome, Win } from './flows';
import { pool } from './http';
import type { BenchUser } from './http';
import type { Check } from './checks';
import { distribution } from './stats';
import { createTestDatabase } from './db';
import type { TestDatabase } from './db';
import type { DevServer } from './dev-server';
import { portOf, stopChild } from './process';
import type { PrivateRedis } from './redis';
import { spawnApi, startStack } from './stack';
import type { Stack, StackProcess } from './stack';
import { sleep, until } from './wait';

export interface DrillResult {
  name: string;
  checks: Check[];
  numbers: Record<string, unknown>;
  /** What the drill found out about behaviour the contract leaves open (e.g. how the queue recovers). */
  findings: string[];
}

/** Sizes: the test runs the short form, `npm run drill` the full one. */
export interface DrillSize {
  selloutUsers: number;
  holdSeconds: number;
  restartHolds: number;
  burstUsers: number;
  burstConcurrency: number;
  redisWaiting: number;
}

export const SHORT: DrillSize = {
  selloutUsers: 100,
  // Long enough that a payment started right after its hold outlasts a worker outage on a busy box.
  holdSeconds: 15,
  restartHolds: 20,
  burstUsers: 300,
  burstConcurrency: 32,
  redisWaiting: 10,
};

export const FULL_DRILL: DrillSize = {
  selloutUsers: 1000,
  holdSeconds: 30,
  restartHolds: 100,
  burstUsers: 3000,
  burstConcurrency: 64,
  redisWaiting: 40,
};

export const PRICE = 50_000;
export const dateFor = (offsetDays: number): string =>
  new Date(Date.parse('2027-03-01T00:00:00Z') + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** A stack of 2 api + 2 worker processes on its own database, against a given Temporal and Redis. */
export interface DrillStack {
  config: Config;
  stack: Stack;
  api: ServiceApi;
  ds: DataSource;
  db: TestDatabase;
  /** Api processes started by a drill to replace killed ones. */
  replacements: ChildProcess[];
  stop(): Promise<void>;
}

export async function startDrillStack(
  base: Config,
  overrides: Partial<Config>,
  processes = { apis: 2, workers: 2 },
): Promise<DrillStack> {
  const db = await createTestDatabase(base.databaseUrl, 4);
  const id = randomUUID().slice(0, 8);
  const config: Config = {
    ...base,
    databaseUrl: db.url,
    redisKeyPrefix: `drill:${id}:`,
    taskQueue: `drill-${id}`,
    queueMaxActive: 5_000,
    queueAdmitPerSecond: 5_000,
    activeTokenTtlSeconds: 3600,
    ...overrides,
  };
  const ds = createDataSource({ url: db.url, poolSize: 4 });
  await ds.initialize();
  let stack: Stack;
  try {
    stack = await startStack(config, { ...processes, env: identityEnv() });
  } catch (err) {
    await ds.destroy();
    await db.drop();
    throw err;
  }
  const replacements: ChildProcess[] = [];
  let stopped = false;
  return {
    config,
    stack,
    api: new ServiceApi(stack.urls, config.adminApiKey),
    ds,
    db,
    replacements,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stack.stop();
      for (const child of replacements) await stopChild(child);
      await ds.destroy();
      await db.drop().catch(() => undefined);
    },
  };
}

export async function activeUsers(api: ServiceApi, n: number): Promise<BenchUser[]> {
  const tokens = await api.issueTokens(
    Array.from({ length: n }, () => randomUUID()),
    32,
  );
  const users = tokens.map((t) => ({ userId: t.userId, token: t.token }));
  await api.waitActive(
    users.map((u) => u.token),
    60_000,
  );
  return users;
}

/** Waits until none of the reservations is HELD in MySQL; returns release time − heldUntil per reservation. */
export async function waitReleased(
  ds: DataSource,
  reservations: ReadonlyArray<{ reservationId: string; heldUntil: string }>,
  graceMs: number,
): Promise<{ lateness: number[]; stillHeld: string[] }> {
  if (reservations.length === 0) return { lateness: [], stillHeld: [] };
  const ids = reservations.map((r) => r.reservationId);
  const deadline = Math.max(...reservations.map((r) => Date.parse(r.heldUntil))) + graceMs;
  let rows: Array<{ id: string; status: string; updatedAt: Date; heldUntil: Date }> = [];
  for (;;) {
    rows = await ds.query(
      `SELECT id, status, updated_at AS updatedAt, held_until AS heldUntil FROM reservations WHERE id IN (${ids
        .map(() => '?')
        .join(',')})`,
      ids,
    );
    if (rows.every((r) => r.status !== 'HELD') || Date.now() > deadline) break;
    await sleep(100);
  }
  return {
    lateness: rows.filter((r) => r.status !== 'HELD').map((r) => r.updatedAt.getTime() - r.heldUntil.getTime()),
    stillHeld: rows.filter((r) => r.status === 'HELD').map((r) => r.id),
  };
}

/** No reservation of the database is HELD past its heldUntil (+ grace). */
export async function noStaleHolds(ds: DataSource, graceMs: number): Promise<Check> {
  const rows = await ds.query<Array<{ n: string }>>(
    `SELECT COUNT(*) AS n FROM reservations WHERE status = 'HELD' AND held_until < UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND`,
    [graceMs * 1000],
  );
  const n = Number(rows[0]?.n ?? 0);
  return {
    name: 'no hold outlives its heldUntil',
    ok: n === 0,
    detail: `${n} reservations still HELD ${graceMs} ms after heldUntil`,
  };
}

export const lateNumbers = (lateness: number[]): Record<string, number> => {
  const d = distribution(lateness);
  return { count: d.count, p50: d.p50, p99: d.p99, max: d.max };
};

// ---------------------------------------------------------------- 1. workers killed

/**
 * Kill -9 one worker in the middle of a sell-out; then, while the winners pay, kill every
 * worker and start one again. Every unpaid hold must still be released, no seat sold twice,
 * no acknowledged payment lost, money conserved.
 */
export async function workerKillDrill(s: DrillStack, size: DrillSize, say: (m: string) => void): Promise<DrillResult> {
  const { api, ds, stack } = s;
  const date = dateFor(0);
  const concert = await api.createConcert('Drill: workers killed', [date], PRICE);
  say(`worker drill: ${size.selloutUsers} users getting ACTIVE tokens…`);
  const users = await activeUsers(api, size.selloutUsers);
  const [first, ...others] = stack.workers;
  const raceStart = Date.now();
  let killedAt: number | undefined;
  let allKilledAt: number | undefined;
  let outage: Promise<{ backAfterMs: number; pid?: number }> | undefined;
  // Kill every worker still running, wait a second, start one again.
  const killAllAndRestart = async (): Promise<{ backAfterMs: number; pid?: number }> => {
    allKilledAt = Date.now();
    const survivors = others.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    await Promise.all(survivors.map((w) => stack.kill(w, 'SIGKILL')));
    await sleep(1_000);
    const restarted: StackProcess = await stack.addWorker();
    return { backAfterMs: Date.now() - allKilledAt, pid: restarted.child.pid };
  };
  // Every other winner tops up and pays at once, as a user would; the rest leave their hold unpaid.
  const paying: Array<Promise<PayOutcome>> = [];
  const unpaid: Win[] = [];
  say(
    'worker drill: race for 50 seats, winners pay at once; worker 1 killed at 15 holds, every worker at 30, one restarted',
  );
  const race = await sellOut({
    api,
    users,
    concertId: concert.concertId,
    date,
    deadlineMs: 120_000,
    // Longer than a pending claim (10 s): seats whose hold failed while workers were down come back.
    soldOutPatienceMs: 12_000,
    onWin: (n, win) => {
      if (n % 2 === 1) {
        paying.push(
          (async () => {
            await chargeWinners(api, [win], 60_000);
            const [outcome] = await payWins(api, [win], 120_000);
            return outcome!;
          })(),
        );
      } else unpaid.push(win);
      if (n === 15 && first) {
        killedAt = Date.now();
        first.child.kill('SIGKILL');
      }
      if (n === 30) outage = killAllAndRestart();
    },
  });
  say(
    `worker drill: ${race.wins.length} seats held (${race.attempts} attempts, unexpected ${JSON.stringify(race.unexpected)})`,
  );
  const back = await (outage ?? killAllAndRestart());
  const paid = await Promise.all(paying);
  const payers = paid.map((p) => p.win);
  say(`worker drill: payments ${JSON.stringify(tally(paid.map((p) => p.status)))}; waiting for unpaid holds to lapse…`);
  const paidIds = new Set(paid.filter((p) => p.status === 201).map((p) => p.win.reservation.reservationId));
  const notPaid = [...unpaid, ...paid.filter((p) => p.status !== 201).map((p) => p.win)];
  const release = await waitReleased(
    ds,
    notPaid.map((w) => w.reservation),
    30_000,
  );
  const checks = await sellOutChecks(ds, {
    concertId: concert.concertId,
    date,
    paid,
    notPaid: notPaid.length,
    stillHeld: release.stillHeld.length,
    waitedMs: 30_000,
    despite: 'the kills',
  });
  return {
    name: 'kill -9 a worker mid sell-out, then all workers, restart one',
    checks,
    numbers: {
      users: users.length,
      'seats held': race.wins.length,
      'hold attempts': race.attempts,
      'answers other than 201/409 during the race': race.unexpected,
      'payers / paid (201)': `${payers.length} / ${paidIds.size}`,
      'payment answers (final)': tally(paid.map((p) => p.status)),
      'payment retries after 5xx / dropped connections': paid.reduce((a, p) => a + p.attempts - 1, 0),
      'worker 1 killed after (ms of race)': killedAt ? killedAt - raceStart : null,
      'every worker killed after (ms of race)': allKilledAt ? allKilledAt - raceStart : null,
      'ms from killing all workers to a new worker polling': back.backAfterMs,
      'release lateness ms (unpaid holds)': lateNumbers(release.lateness),
      'restarted worker pid': back.pid,
    },
    findings: [],
  };
}

/** Each payment's final answer matches MySQL: 201 ⇒ paid and confirmed; otherwise no payment and not confirmed. */
/**
 * What every sell-out drill ends with: seats sold once, unpaid holds released within `waitedMs`,
 * every acknowledged payment present and consistent with its answer, some payments through
 * despite the fault, no stale holds, money conserved.
 */
export async function sellOutChecks(
  ds: DataSource,
  run: {
    concertId: string;
    date: string;
    paid: PayOutcome[];
    notPaid: number;
    stillHeld: number;
    waitedMs: number;
    /** The fault, for the check's name ("payments went through despite …"). */
    despite: string;
  },
): Promise<Check[]> {
  const paidIds = new Set(run.paid.filter((p) => p.status === 201).map((p) => p.win.reservation.reservationId));
  return [
    ...(await seatChecks(ds, run.concertId, run.date, { sold: paidIds.size })),
    {
      name: 'every unpaid hold released',
      ok: run.stillHeld === 0,
      detail: `${run.notPaid} unpaid holds, ${run.stillHeld} still HELD ${run.waitedMs / 1000} s after heldUntil`,
    },
    await paymentsPresent(
      ds,
      run.paid.flatMap((p) => (p.payment ? [p.payment.paymentId] : [])),
    ),
    await payOutcomesConsistent(ds, run.paid),
    {
      // Otherwise "no payment lost" would hold vacuously (e.g. every hold lapsed during the outage).
      name: `payments went through despite ${run.despite}`,
      ok: paidIds.size > 0,
      detail: `${paidIds.size} of ${run.paid.length} payers paid (${JSON.stringify(tally(run.paid.map((p) => p.status)))})`,
    },
    await noStaleHolds(ds, run.waitedMs),
    await moneyCheck(ds),
  ];
}

export async function payOutcomesConsistent(
  ds: DataSource,
  paid: ReadonlyArray<{ status: number; win: Win }>,
): Promise<Check> {
  let bad = 0;
  const details: string[] = [];
  for (const p of paid) {
    const rows = await ds.query<Array<{ status: string; payments: string }>>(
      `SELECT r.status, (SELECT COUNT(*) FROM payment_reservations pay WHERE pay.reservation_id = r.id) AS payments
         FROM reservations r WHERE r.id = ?`,
      [p.win.reservation.reservationId],
    );
    const row = rows[0];
    const ok =
      p.status === 201
        ? row?.status === 'CONFIRMED' && Number(row.payments) === 1
        : row?.status !== 'CONFIRMED' && Number(row?.payments ?? 0) === 0;
    if (!ok) {
      bad++;
      if (details.length < 3)
        details.push(`${p.win.reservation.reservationId}: answer ${p.status}, row ${JSON.stringify(row)}`);
    }
  }
  return {
    name: "every payer's final answer matches MySQL",
    ok: bad === 0,
    detail: bad === 0 ? `${paid.length} payments agree` : `${bad} disagree: ${details.join('; ')}`,
  };
}

// ---------------------------------------------------------------- 2. Temporal restarted

/** Restart the (on-disk) Temporal dev server while seats are held: every hold's timer still fires. */
export async function temporalRestartDrill(
  s: DrillStack,
  temporal: DevServer,
  size: DrillSize,
  say: (m: string) => void,
): Promise<DrillResult> {
  const { api, ds } = s;
  const dates = Array.from({ length: Math.ceil(size.restartHolds / 50) }, (_, i) => dateFor(10 + i));
  const concert = await api.createConcert('Drill: Temporal restarted', dates, PRICE);
  say(`temporal drill: ${size.restartHolds} users hold a seat each…`);
  const users = await activeUsers(api, size.restartHolds);
  const holds = await holdEach(
    api,
    users.map((user, i) => ({
      user,
      seat: { concertId: concert.concertId, date: dates[Math.floor(i / 50)]!, seatNo: (i % 50) + 1 },
    })),
    16,
  );
  const held = holds.flatMap((h) => (h.reservation ? [h.reservation] : []));
  const firstHeldUntil = Math.min(...held.map((r) => Date.parse(r.heldUntil)));
  say(`temporal drill: ${held.length} held; restarting the Temporal dev server (SIGTERM, same port and SQLite file)…`);
  const downAt = Date.now();
  await temporal.down('SIGTERM');
  const ready = await api.readyz(0);
  await temporal.up();
  const upAfterMs = Date.now() - downAt;
  say(`temporal drill: back after ${upAfterMs} ms; waiting for every hold to be released…`);
  const release = await waitReleased(ds, held, 60_000);
  // A hold taken after the restart works too (the api and workers reconnected).
  const [extra] = await activeUsers(api, 1);
  const after = await api.hold(extra!.token, { concertId: concert.concertId, date: dates[0]!, seatNo: 50 }, 1);
  const checks: Check[] = [
    {
      name: 'timers set before the restart fired after it (every hold released)',
      ok: held.length === users.length && release.stillHeld.length === 0,
      detail: `${held.length} of ${users.length} held; ${release.stillHeld.length} still HELD 60 s after heldUntil`,
    },
    {
      name: 'the restart happened while the holds were running',
      ok: Date.now() > firstHeldUntil && downAt < firstHeldUntil,
      detail: `server down ${firstHeldUntil - downAt} ms before the first heldUntil, for ${upAfterMs} ms`,
    },
    {
      name: '/readyz named Temporal while it was down',
      ok: ready.status === 503 && ready.body.checks?.Temporal === 'down',
      detail: `answer ${ready.status} ${JSON.stringify(ready.body.checks ?? ready.body)}`,
    },
    {
      name: 'a hold after the restart works',
      ok: after.status === 201 || after.status === 409,
      detail: `answer ${after.status}`,
    },
    ...(await Promise.all(dates.map((d) => seatChecks(ds, concert.concertId, d)))).flat(),
  ];
  return {
    name: 'restart the Temporal dev server during holds',
    checks,
    numbers: {
      holds: held.length,
      'Temporal down → accepting connections again (ms)': upAfterMs,
      'release lateness ms': lateNumbers(release.lateness),
    },
    findings: [],
  };
}

// ---------------------------------------------------------------- 3. api restarted

/**
 * Kill -9 an api process during a token burst and start it again on its port. Clients whose
 * request failed retry with the same user (on the other api while it is down); every user
 * must end up with exactly one entry: the same token on every later call (200), and one
 * running entry workflow.
 */
export async function apiRestartDrill(
  s: DrillStack,
  temporal: DevServer,
  size: DrillSize,
  say: (m: string) => void,
): Promise<DrillResult> {
  const { api, stack, config } = s;
  const userIds = Array.from({ length: size.burstUsers }, () => randomUUID());
  const seen = new Map<string, Set<string>>();
  let failures = 0;
  let done = 0;
  let killedAt = 0;
  let backAt = 0;
  const victim = stack.apis[0]!;
  const port = portOf(victim.url!);
  const restart = async (): Promise<void> => {
    killedAt = Date.now();
    await stack.kill(victim, 'SIGKILL');
    const replacement = await spawnApi(config, port, `${victim.name}-restarted`, undefined, identityEnv());
    s.replacements.push(replacement.child);
    backAt = Date.now();
  };
  let restarting: Promise<void> | undefined;
  say(
    `api drill: ${userIds.length} users request tokens (${size.burstConcurrency} at a time); api 1 is killed a third of the way in`,
  );
  await pool(userIds, size.burstConcurrency, async (userId, i) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const res = await api.issueToken(userId, i + attempt);
      if (res.status === 200 || res.status === 201) {
        const tokens = seen.get(userId) ?? new Set<string>();
        tokens.add(res.body.token);
        seen.set(userId, tokens);
        break;
      }
      failures++;
      await sleep(50);
    }
    if (++done === Math.floor(userIds.length / 3)) restarting = restart();
  });
  await restarting;
  say(`api drill: first pass done (${failures} failed attempts retried); every user asks again…`);
  const second = await pool(userIds, size.burstConcurrency, async (userId, i) => api.issueToken(userId, i + 1));
  let changed = 0;
  let not200 = 0;
  let multiple = 0;
  second.forEach((res, i) => {
    const first = seen.get(userIds[i]!);
    if (!first || first.size !== 1) multiple++;
    if (res.status !== 200) not200++;
    else if (!first?.has(res.body.token)) changed++;
  });
  // Entries start their workflow at admission (a tick or two after it, whatever failed in
  // between): every admitted user must have a running entry workflow within a few seconds.
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const stateOf = async (userId: string): Promise<string> => {
    try {
      return (await client.workflow.getHandle(queueEntryWorkflowId(userId)).describe()).status.name;
    } catch (err) {
      return err instanceof Error ? err.name : 'error';
    }
  };
  let pending = userIds.map((userId, i) => ({ userId, i }));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const states = new Map<string, string>();
    await pool(pending, 32, async ({ userId }) => {
      states.set(userId, await stateOf(userId));
    });
    pending = pending.filter(({ userId }) => states.get(userId) !== 'RUNNING');
    if (pending.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const withoutWorkflow = pending.length;
  const missing: Record<string, number> = {};
  const entryStates: Record<string, number> = {};
  for (const { userId, i } of pending) {
    const state = await stateOf(userId);
    missing[state] = (missing[state] ?? 0) + 1;
    const current = await api.current(second[i]?.body.token ?? '', i);
    entryStates[current.body.status ?? String(current.status)] =
      (entryStates[current.body.status ?? String(current.status)] ?? 0) + 1;
  }
  await connection.close();
  const checks: Check[] = [
    {
      name: 'every user got a token',
      ok: seen.size === userIds.length,
      detail: `${seen.size} of ${userIds.length}`,
    },
    {
      name: 'retries with the same user got the same entry',
      ok: multiple === 0 && changed === 0 && not200 === 0,
      detail: `${multiple} users saw more than one token in the first pass; second pass: ${not200} not 200, ${changed} other token`,
    },
    {
      name: 'every admitted entry has its running workflow within 15 s',
      ok: withoutWorkflow === 0,
      detail: `${withoutWorkflow} users without a running queue-entry workflow ${JSON.stringify(missing)}`,
    },
  ];
  const findings =
    withoutWorkflow > 0
      ? [
          `${withoutWorkflow} admitted entries had no running queue-entry workflow 15 s later (${JSON.stringify(missing)}; ` +
            `their entries read ${JSON.stringify(entryStates)}): the admission outbox did not start them.`,
        ]
      : [];
  return {
    name: 'restart an api process during a token burst',
    checks,
    numbers: {
      users: userIds.length,
      'failed attempts retried (connection dropped / refused / 5xx)': failures,
      'api down → answering again (ms)': backAt - killedAt,
    },
    findings,
  };
}

// ---------------------------------------------------------------- 4. Redis restarted empty

/**
 * Redis (a private redis-server) is killed and started again empty while users wait, some
 * hold seats and some have paid. /readyz must say so, MySQL (seats, money) must be
 * untouched, held and sold seats must stay refused to others, and the queue must recover
 * without losing a setting: waiting users get 401, re-enter, and are admitted once the durable pause is lifted.
 */
export async function redisRestartDrill(
  base: Config,
  redis: PrivateRedis,
  size: DrillSize,
  say: (m: string) => void,
): Promise<DrillResult> {
  // Outlives the outage and the re-entry, so the held seat is still held when probed afterwards.
  const holdSeconds = 18;
  const s = await startDrillStack(
    base,
    { redisUrl: redis.url, seatHoldSeconds: holdSeconds, queueMaxActive: 50, queueAdmitPerSecond: 50 },
    { apis: 2, workers: 1 },
  );
  try {
    const { api, ds } = s;
    const date = dateFor(20);
    const concert = await api.createConcert('Drill: Redis lost', [date], PRICE);
    say('redis drill: 4 users pay for a seat, 4 hold one, then the queue is paused and users line up…');
    const [p1, p2, p3, p4, h1, h2, h3, h4] = await activeUsers(api, 8);
    const payers = [p1!, p2!, p3!, p4!];
    const holders = [h1!, h2!, h3!, h4!];
    const paidHolds = await holdEach(
      api,
      payers.map((user, i) => ({ user, seat: { concertId: concert.concertId, date, seatNo: i + 1 } })),
      4,
    );
    const wins: Win[] = paidHolds.map((h, i) => ({ user: payers[i]!, index: i, reservation: h.reservation! }));
    await chargeWinners(api, wins, 30_000);
    const paid = await payWins(api, wins, 30_000);
    const held = await holdEach(
      api,
      holders.map((user, i) => ({ user, seat: { concertId: concert.concertId, date, seatNo: 11 + i } })),
      4,
    );
    const heldReservations = held.flatMap((h) => (h.reservation ? [h.reservation] : []));
    await api.setQueue({ paused: true });
    const waiting = await api.issueTokens(
      Array.from({ length: size.redisWaiting }, () => randomUUID()),
      16,
    );
    const moneyBefore = await moneyTotals(ds);
    const seatsBefore = await seatStatuses(ds, concert.concertId, date);

    say('redis drill: killing Redis (SIGKILL)…');
    await redis.down('SIGKILL');
    const downAt = Date.now();
    const readyDown = await until(
      'readyz 503 naming Redis',
      async () => {
        const r = await api.readyz(0);
        return r.status === 503 && r.body.checks?.Redis === 'down' ? r : undefined;
      },
      { ms: 15_000, everyMs: 200, retryErrors: true },
    );
    const duringOutage = await api.seats(holders[0]!.token, concert.concertId, date, 1);
    await redis.up();
    say('redis drill: Redis is back, empty');
    await until(
      'readyz 200 after Redis returned',
      async () => {
        const answers = await Promise.all([api.readyz(0), api.readyz(1)]);
        return answers.every((r) => r.status === 200);
      },
      { ms: 30_000, everyMs: 200, retryErrors: true },
    );
    const readyAfterMs = Date.now() - downAt;

    // What a waiting client sees now, and what it takes to get back in line.
    const oldTokenAnswers = tally(
      await Promise.all(waiting.map(async (w, i) => (await api.current(w.token, i)).status)),
    );
    const settingsAfter = (await api.queue()).body;
    const reentered = await pool(waiting, 16, async (w, i) => api.issueToken(w.userId, i));
    const reentryAnswers = tally(reentered.map((r) => r.status));
    const newTokens = reentered.map((r) => r.body.token);
    // The pause lives in MySQL, so it held through the loss: the re-entered users wait until the
    // operator resumes the line.
    const stillWaiting = tally(
      await Promise.all(newTokens.map(async (token, i) => (await api.current(token, i)).body.status ?? 'none')),
    );
    await api.setQueue({ paused: false });
    let admittedAfterMs: number | null = null;
    try {
      await api.waitActive(newTokens, 30_000);
      admittedAfterMs = Date.now() - downAt;
    } catch {
      admittedAfterMs = null;
    }

    // Seats: what was sold or held stays refused to others; a free seat can still be held.
    const [probe] = await activeUsers(api, 1);
    const onSold = await api.hold(probe!.token, { concertId: concert.concertId, date, seatNo: 1 }, 0);
    const onHeld = await api.hold(probe!.token, { concertId: concert.concertId, date, seatNo: 11 }, 1);
    const onFree = await api.hold(probe!.token, { concertId: concert.concertId, date, seatNo: 30 }, 0);
    const moneyAfter = await moneyTotals(ds);
    const seatsAfter = await seatStatuses(ds, concert.concertId, date);
    say('redis drill: waiting for the holds made before the outage to lapse…');
    const release = await waitReleased(ds, heldReservations, 30_000);

    const checks: Check[] = [
      {
        name: '/readyz reported Redis down',
        ok: readyDown.status === 503,
        detail: `${readyDown.status} ${JSON.stringify(readyDown.body)}`,
      },
      {
        name: 'a request during the outage is refused cleanly (503, not a crash)',
        ok: duringOutage.status === 503,
        detail: `GET seats answered ${duringOutage.status}`,
      },
      { name: '/readyz 200 again once Redis returned', ok: true, detail: `${readyAfterMs} ms after the kill` },
      {
        name: 'money untouched by the loss',
        ok: JSON.stringify(moneyBefore) === JSON.stringify(moneyAfter),
        detail: `before ${JSON.stringify(moneyBefore)}, after ${JSON.stringify(moneyAfter)}`,
      },
      {
        name: 'seats untouched by the loss',
        ok:
          JSON.stringify(seatsBefore) === JSON.stringify(seatsAfter) ||
          (onFree.status === 201 && seatsAfter.HELD === (seatsBefore.HELD ?? 0) + 1),
        detail: `before ${JSON.stringify(seatsBefore)}, after (one new hold on seat 30) ${JSON.stringify(seatsAfter)}`,
      },
      {
        name: 'a sold seat and a held seat stay refused after the loss; a free seat can be held',
        ok: onSold.status === 409 && onHeld.status === 409 && onFree.status === 201,
        detail: `sold seat ${onSold.status}, held seat ${onHeld.status}, free seat ${onFree.status}`,
      },
      {
        name: 'waiting users get a clear answer (401, not a 5xx) and can re-enter',
        ok: oldTokenAnswers['401'] === waiting.length && reentryAnswers['201'] === waiting.length,
        detail: `old tokens ${JSON.stringify(oldTokenAnswers)}, re-entry ${JSON.stringify(reentryAnswers)}`,
      },
      {
        name: 'the pause survived the loss (settings are in MySQL): re-entered users wait while paused',
        ok: settingsAfter.paused === true && stillWaiting.WAITING === waiting.length,
        detail: `paused=${String(settingsAfter.paused)}, re-entered users ${JSON.stringify(stillWaiting)}`,
      },
      {
        name: 'once the operator resumes, the re-entered users are admitted',
        ok: admittedAfterMs !== null,
        detail:
          admittedAfterMs !== null
            ? `all ${waiting.length} ACTIVE ${admittedAfterMs} ms after the kill`
            : 'not all ACTIVE within 30 s of the resume',
      },
      {
        name: 'holds made before the loss still released at heldUntil',
        ok: release.stillHeld.length === 0,
        detail: `${heldReservations.length} holds, ${release.stillHeld.length} still HELD`,
      },
      await paymentsPresent(
        ds,
        paid.flatMap((p) => (p.payment ? [p.payment.paymentId] : [])),
      ),
      ...(await seatChecks(ds, concert.concertId, date, { sold: paid.filter((p) => p.status === 201).length })),
      await moneyCheck(ds),
    ];
    const findings = [
      `old tokens of waiting users after the loss answer ${JSON.stringify(oldTokenAnswers)} on GET /v1/queue/tokens/current: ${
        oldTokenAnswers['401'] === waiting.length
          ? 'every token is unknown; the queue is NOT rebuilt from Temporal, users must re-enter (POST /v1/queue/tokens)'
          : 'tokens survived'
      }`,
      `re-entry with the same user answers ${JSON.stringify(reentryAnswers)} (a new token and a new place at the back of a new line)`,
      `admin queue settings after the loss: ${JSON.stringify(settingsAfter)}`,
    ];
    return {
      name: 'Redis restarted empty while users wait',
      checks,
      numbers: {
        'waiting users': waiting.length,
        'Redis killed → both /readyz 200 (ms)': readyAfterMs,
        'Redis killed → re-entered users all ACTIVE (ms)': admittedAfterMs,
        'release lateness ms (holds from before the loss)': lateNumbers(release.lateness),
      },
      findings,
    };
  } finally {
    await s.stop();
  }
}

export function tally(statuses: ReadonlyArray<number | string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const st of statuses) out[String(st)] = (out[String(st)] ?? 0) + 1;
  return out;
}

export type { Reservation };
