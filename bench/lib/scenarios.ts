/** The benchmark's scenarios; bench/run.ts provides the stack and runs them in order. */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import type { CannonItem, CannonSpec, LoadResult } from '../load';
import { identityToken } from '../../scripts/lib/api';
import type { SeatRef, ServiceApi, TokenBody } from '../../scripts/lib/api';
import { moneyCheck, paymentsPresent, seatChecks } from '../../scripts/lib/checks';
import { sleep } from '../../scripts/lib/wait';
import { CpuProbe, saturationNote } from './cpu';
import type { CpuReport, Watched } from './cpu';
import type { BenchUser } from '../../scripts/lib/http';
import type { Check, Row, ScenarioResult } from './report';
import { runLoad } from './runner';
import { distribution, summarize } from './stats';
import type { Sample, Summary } from './stats';
import { latencyPlot } from './svg';

/** Sizes of one run (`--quick` shrinks them for runs while others develop). */
export interface Scale {
  ceilingSeconds: number;
  ceilingConnections: number;
  /** Connections of the bare HTTP server ceiling (the token burst's). */
  httpConnections: number;
  temporalSeconds: number;
  temporalConnections: number;
  burstUsers: number;
  burstConnections: number;
  /** Users of the burst the follow scenario reads and charges right after. */
  followBurstUsers: number;
  selloutUsers: number;
  raceUsers: number;
  raceRounds: number;
  readSeconds: number;
  readConnections: number;
  chargeSeconds: number;
  chargeConnections: number;
  chargeUsers: number;
  /** The small payment burst (all at once). */
  payFewUsers: number;
  payUsers: number;
  releaseHolds: number;
  edgePayments: number;
  /** admitPerSecond steps of the admission-rate search, and how long each is held. */
  admitSteps: number[];
  admitStepSeconds: number;
}

export const FULL: Scale = {
  ceilingSeconds: 10,
  ceilingConnections: 32,
  httpConnections: 100,
  temporalSeconds: 10,
  temporalConnections: 50,
  burstUsers: 5_000,
  burstConnections: 100,
  followBurstUsers: 10_000,
  selloutUsers: 1_000,
  raceUsers: 500,
  raceRounds: 5,
  readSeconds: 10,
  readConnections: 50,
  chargeSeconds: 10,
  chargeConnections: 50,
  chargeUsers: 500,
  payFewUsers: 50,
  payUsers: 500,
  releaseHolds: 200,
  edgePayments: 40,
  admitSteps: [25, 50, 100, 200, 400, 800],
  admitStepSeconds: 8,
};

export const QUICK: Scale = {
  ceilingSeconds: 3,
  ceilingConnections: 32,
  httpConnections: 100,
  temporalSeconds: 3,
  temporalConnections: 50,
  burstUsers: 2_000,
  burstConnections: 100,
  followBurstUsers: 2_000,
  selloutUsers: 600,
  raceUsers: 500,
  raceRounds: 2,
  readSeconds: 3,
  readConnections: 50,
  chargeSeconds: 3,
  chargeConnections: 50,
  chargeUsers: 200,
  payFewUsers: 50,
  payUsers: 100,
  releaseHolds: 50,
  edgePayments: 40,
  admitSteps: [50, 200, 800],
  admitStepSeconds: 3,
};

/** What every scenario gets from the orchestrator. */
export interface Ctx {
  scale: Scale;
  workDir: string;
  outDir: string;
  stamp: string;
  say: (msg: string) => void;
  watched: () => Watched[];
  /** Tasks waiting for a worker on the stack's main task queue (set while a stack runs). */
  backlog?: () => Promise<Record<string, { workflow: number; activity: number }>>;
  /** Checkout notices the apis have answered but not yet sent to Temporal (set while a stack runs). */
  notices?: () => Promise<number>;
  /** Write SVG latency plots into `plotDir` (`--plots`). */
  plotDir?: string;
  /** Epoch-ms windows of each scenario's load, for CPU profiles (`--profile-cpu`). */
  windows?: Array<{ scenario: string; from: number; to: number }>;
}

export const PRICE = 50_000;

/** Draws the scenario's latency plot next to the results and returns its file name. */
export function plot(
  ctx: Ctx,
  id: string,
  title: string,
  samples: Record<string, Sample[]>,
  ops?: string[],
  axes: { xLabel?: string; yLabel?: string } = {},
): string | undefined {
  if (!ctx.plotDir) return undefined;
  const series = (ops ?? Object.keys(samples))
    .filter((op) => samples[op]?.length)
    .map((op) => ({ name: op, samples: samples[op]! }));
  const file = `${ctx.stamp}-${id}.svg`;
  mkdirSync(ctx.plotDir, { recursive: true });
  writeFileSync(path.join(ctx.plotDir, file), latencyPlot(title, series, axes));
  return file;
}

function row(
  scenario: string,
  op: string,
  summary: Summary,
  target?: { text: string; met: boolean },
  okRate = false,
): Row {
  return {
    scenario,
    op,
    summary,
    rate: okRate ? summary.okPerSecond : summary.perSecond,
    rateOf: okRate ? '2xx/s' : 'answers/s',
    target: target?.text,
    met: target?.met,
  };
}

/** Processes that answer the load: the api, or the ceiling servers standing in for it. */
const SERVERS = /^(api|ceiling|bare-http)/;

/**
 * Adds the answering processes' CPU per answer of the scenario's first operation (µs): unlike
 * a rate, it holds up when something else shares the box, and it says what one core can serve.
 */
function withCpu(result: Omit<ScenarioResult, 'saturation'>, cpu: CpuReport): ScenarioResult {
  const answers = result.rows[0]?.summary.count ?? 0;
  const serverPct = cpu.processes.filter((p) => SERVERS.test(p.name)).reduce((sum, p) => sum + p.cpuPct, 0);
  const numbers =
    answers > 0 && serverPct > 0
      ? {
          ...result.numbers,
          'server CPU per answer (µs; api or ceiling processes over the window)': Math.round(
            (serverPct * cpu.seconds * 10_000) / answers,
          ),
        }
      : result.numbers;
  return { ...result, numbers, cpu, saturation: saturationNote(cpu) };
}

// ---------------------------------------------------------------- ceilings

/** Ceilings: bare routes doing one Redis ZADD, and one locked row update (spread over rows, and on one hot row). */
export async function ceilings(ctx: Ctx, urls: string[], rows: number): Promise<ScenarioResult[]> {
  const spec = (op: string, items: CannonItem[]): CannonSpec => ({
    op,
    urls,
    method: 'POST',
    items,
    pick: 'random',
    connections: ctx.scale.ceilingConnections,
    durationS: ctx.scale.ceilingSeconds,
  });
  const runs: Array<{ id: string; title: string; spec: CannonSpec }> = [
    {
      // The token burst's client shape against Express alone: the floor every API route pays.
      id: 'ceiling-express',
      title: 'Ceiling: bare Express route (JSON body parsed, JSON answered, no I/O)',
      spec: {
        ...spec('POST (bare Express)', [{ path: '/noop', body: JSON.stringify({ userId: 'ceiling' }) }]),
        connections: ctx.scale.httpConnections,
      },
    },
    {
      id: 'ceiling-zadd',
      title: 'Ceiling: bare Express route, one Redis ZADD',
      spec: spec('ZADD', [{ path: '/zadd' }]),
    },
    {
      id: 'ceiling-locked',
      title: `Ceiling: bare Express route, one locked single-row MySQL update (any of ${rows} rows)`,
      spec: spec(
        'locked update (spread rows)',
        Array.from({ length: rows }, (_, i) => ({ path: `/locked?row=${i + 1}` })),
      ),
    },
    {
      id: 'ceiling-hot-row',
      title: 'Ceiling: bare Express route, one locked MySQL update of the same row',
      spec: spec('locked update (one hot row)', [{ path: '/locked?row=1' }]),
    },
  ];
  const out: ScenarioResult[] = [];
  for (const r of runs) {
    ctx.say(`${r.title}: ${r.spec.connections} connections for ${r.spec.durationS} s…`);
    const { result, cpu } = await runLoad(r.id, { kind: 'cannon', specs: [r.spec] }, ctx);
    const samples = result.samples[r.spec.op] ?? [];
    const summary = summarize(samples, result.phaseSeconds[r.spec.op]);
    out.push(
      withCpu(
        {
          id: r.id,
          title: r.title,
          setup: { processes: urls.length, connections: r.spec.connections, seconds: r.spec.durationS },
          rows: [row('ceiling', r.spec.op, summary)],
          numbers: {},
          checks: [],
          plot: plot(ctx, r.id, r.title, result.samples),
        },
        cpu,
      ),
    );
    ctx.say(`  ${summary.perSecond}/s, p99 ${summary.p99} ms`);
  }
  return out;
}

// ---------------------------------------------------------------- token burst

export interface BurstOutcome {
  result: ScenarioResult;
  /** Issued tokens by user, in the order of the users given. */
  tokens: Map<string, TokenBody>;
}

/**
 * Has the api verify each identity token once (`GET /v1/me`, untimed), so a later burst with
 * these very tokens finds them in the verifier's cache: the burst without the signature check.
 * Run before the measured bursts, it also warms the api's request path for both.
 */
export async function verifyIdentitiesFirst(ctx: Ctx, urls: string[], userIds: string[]): Promise<string[]> {
  const identities = await Promise.all(userIds.map((userId) => identityToken(userId)));
  ctx.say(`Verifying ${userIds.length} identity tokens first (GET /v1/me, not timed)…`);
  await runLoad(
    'identity-warm',
    {
      kind: 'cannon',
      specs: [
        {
          op: 'GET /v1/me',
          urls,
          method: 'GET',
          items: identities.map((identity) => ({ path: '/v1/me', headers: { authorization: `Bearer ${identity}` } })),
          pick: 'next',
          connections: ctx.scale.burstConnections,
          amount: userIds.length,
        },
      ],
    },
    ctx,
  );
  return identities;
}

/** Token burst: every user asks for a token once, as fast as the box allows. */
export async function tokenBurst(
  ctx: Ctx,
  urls: string[],
  userIds: string[],
  httpPerSecond?: number,
  id = 'tokens',
  title = 'Token burst',
  verified?: { identities: string[] },
): Promise<BurstOutcome> {
  const op = 'POST /v1/queue/tokens';
  const identitiesVerifiedBefore = verified !== undefined;
  const identities = verified?.identities ?? (await Promise.all(userIds.map((userId) => identityToken(userId))));
  const spec: CannonSpec = {
    op,
    urls,
    method: 'POST',
    items: userIds.map((userId, i) => ({
      path: '/v1/queue/tokens',
      headers: { authorization: `Bearer ${identities[i]!}` },
      body: JSON.stringify({ userId }),
    })),
    pick: 'next',
    connections: ctx.scale.burstConnections,
    amount: userIds.length,
    capture: true,
  };
  ctx.say(`Token burst: ${userIds.length} distinct users, ${spec.connections} connections…`);
  const { result, cpu } = await runLoad(id, { kind: 'cannon', specs: [spec] }, ctx);
  const summary = summarize(result.samples[op] ?? []);
  const tokens = new Map<string, TokenBody>();
  let created = 0;
  let repeated = 0;
  for (const { status, body } of result.captured?.[op] ?? []) {
    if (status === 201) created++;
    if (status === 200) repeated++;
    const b = body as TokenBody;
    if ((status === 201 || status === 200) && b.userId) tokens.set(b.userId, b);
  }
  const ratio = httpPerSecond ? Math.round((summary.perSecond / httpPerSecond) * 100) / 100 : undefined;
  const met =
    summary.perSecond >= 4800 && summary.p99 < 100 && summary.failures === 0 && (ratio === undefined || ratio >= 0.5);
  ctx.say(
    `  ${summary.perSecond}/s, p99 ${summary.p99} ms, ${created} created${ratio ? `, ${ratio}× the bare HTTP server` : ''}`,
  );
  return {
    tokens,
    result: withCpu(
      {
        id,
        title,
        setup: { users: userIds.length, connections: spec.connections, apiProcesses: urls.length },
        rows: [
          row(
            id === 'tokens' ? 'token burst' : id,
            op,
            summary,
            identitiesVerifiedBefore ? undefined : { text: '≥4800/s, p99<100, ≥0.5× bare HTTP', met },
          ),
        ],
        numbers: {
          'tokens created (201)': created,
          'repeat answers (200)': repeated,
          ...(ratio !== undefined ? { 'rate / bare HTTP server rate': ratio } : {}),
        },
        checks: [
          {
            name: 'one token per distinct user',
            ok: tokens.size === userIds.length && created === userIds.length,
            detail: `${tokens.size} users with a token, ${created} answered 201`,
          },
        ],
        plot: plot(ctx, id, 'Token burst: POST /v1/queue/tokens', result.samples),
      },
      cpu,
    ),
  };
}

/**
 * Issue 11: what checking the identity costs a token burst. Bursts of new users whose identity
 * tokens the api has not seen (A: the signature is checked) and of new users whose tokens it
 * verified beforehand (B: a cache hit, the burst without the check), run A B B A so that the
 * api warming up and the line growing weigh on both sides alike. Returns the second B burst's
 * result with the four rates and the ratio of A to B throughput.
 */
export async function identityCost(ctx: Ctx, urls: string[], size: number): Promise<ScenarioResult> {
  const users = (): string[] => Array.from({ length: size }, () => randomUUID());
  const [a1, b1, b2, a2] = [users(), users(), users(), users()];
  const verified = await verifyIdentitiesFirst(ctx, urls, [...b1, ...b2]);
  const cached = (ids: string[], from: number) => ({ identities: verified.slice(from, from + ids.length) });
  const title = (side: string): string => `Token burst (${side})`;
  const rateOf = (o: BurstOutcome): number => o.result.rows[0]!.rate;
  const first = await tokenBurst(ctx, urls, a1, undefined, 'tokens-identity-a1', title('identities checked'));
  const second = await tokenBurst(
    ctx,
    urls,
    b1,
    undefined,
    'tokens-identity-b1',
    title('verified before'),
    cached(b1, 0),
  );
  const third = await tokenBurst(
    ctx,
    urls,
    b2,
    undefined,
    'tokens-identity-cached',
    'Token burst, identities verified beforehand',
    cached(b2, b1.length),
  );
  const fourth = await tokenBurst(ctx, urls, a2, undefined, 'tokens-identity-a2', title('identities checked'));
  const checkedRate = (rateOf(first) + rateOf(fourth)) / 2;
  const cachedRate = (rateOf(second) + rateOf(third)) / 2;
  const ratio = Math.round((checkedRate / cachedRate) * 100) / 100;
  ctx.say(`  identities checked ${Math.round(checkedRate)}/s, verified before ${Math.round(cachedRate)}/s: ${ratio}×`);
  const result = third.result;
  result.title = `Token bursts of ${size} new users, identities checked (A) or verified before (B), in the order A B B A`;
  Object.assign(result.numbers, {
    'A rates (identities checked)': `${rateOf(first)}, ${rateOf(fourth)}`,
    'B rates (verified before)': `${rateOf(second)}, ${rateOf(third)}`,
    'mean A / mean B (issue 11: ≥ 0.9)': ratio,
  });
  result.checks.push(...[first, second, fourth].flatMap((o) => o.result.checks), {
    name: 'identity check costs the burst at most 10 %',
    ok: ratio >= 0.9,
    detail: `${ratio}×`,
  });
  return result;
}

// ---------------------------------------------------------------- settling

/**
 * Waits until no task waits for a worker on any of the stack's task queues and the apis have
 * sent every checkout notice (at most `timeoutMs`), so the next scenario does not share the box
 * with the previous one's leftovers. Returns the seconds it took, or null without a backlog probe.
 */
export async function settle(ctx: Ctx, after: string, timeoutMs = 180_000): Promise<number | null> {
  if (!ctx.backlog) return null;
  const t = Date.now();
  let last = '';
  // Quiet for three samples in a row: signals sent by the admission loop show up a tick later.
  let quiet = 0;
  for (;;) {
    let queued = 0;
    try {
      const b = await ctx.backlog();
      const notices = ctx.notices ? await ctx.notices() : 0;
      queued = Object.values(b).reduce((a, q) => a + q.workflow + q.activity, 0) + notices;
      last = `${JSON.stringify(b)}, api notices ${notices}`;
    } catch {
      queued = 1;
    }
    quiet = queued < 10 ? quiet + 1 : 0;
    if (quiet >= 3) break;
    if (Date.now() - t > timeoutMs) {
      ctx.say(`  still ${queued} tasks queued ${timeoutMs / 1000} s after ${after}; going on (${last})`);
      break;
    }
    if (Date.now() - t > 2_000 && (Date.now() - t) % 10_000 < 1_000)
      ctx.say(`  ${queued} tasks still queued for the workers or notices unsent…`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const seconds = Math.round((Date.now() - t) / 100) / 10;
  if (seconds >= 4) ctx.say(`  the workers caught up ${seconds} s after ${after}`);
  return seconds;
}

// ---------------------------------------------------------------- admission

/** Opens the queue for `count` users and waits until each of their tokens reads ACTIVE. */
export async function admit(
  ctx: Ctx,
  api: ServiceApi,
  users: BenchUser[],
  count: number,
): Promise<Record<string, unknown>> {
  const t = Date.now();
  await api.setQueue({ maxActive: count, admitPerSecond: Math.max(count, 1000), paused: false });
  ctx.say(
    `Admission: maxActive ${count}, admitPerSecond ${Math.max(count, 1000)}; waiting until ${users.length} tokens are ACTIVE…`,
  );
  await api.waitActive(
    users.map((u) => u.token),
    120_000,
  );
  const seconds = (Date.now() - t) / 1000;
  ctx.say(`  ${users.length} users ACTIVE after ${seconds.toFixed(1)} s`);
  return { 'users admitted': users.length, 'seconds until all ACTIVE': Math.round(seconds * 10) / 10 };
}

// ---------------------------------------------------------------- sell-out

export interface SellOutOutcome {
  result: ScenarioResult;
  /** Users who did not win a seat (their tokens stay ACTIVE). */
  losers: BenchUser[];
}

/** Sell-out: the users race for the 50 seats of one date; each winner tops up and pays. */
export async function sellOutScenario(
  ctx: Ctx,
  api: ServiceApi,
  ds: DataSource,
  users: BenchUser[],
  concertId: string,
  date: string,
): Promise<SellOutOutcome> {
  ctx.say(`Sell-out: ${users.length} admitted users race for the 50 seats of ${date}; winners top up and pay…`);
  const { result, cpu } = await runLoad(
    'sellout',
    { kind: 'sellout', urls: [...api.urls], adminKey: api.adminKey, users, concertId, date, deadlineMs: 60_000 },
    ctx,
  );
  const extra = result.extra as {
    wins: Array<{ userId: string }>;
    attempts: number;
    unexpected: Record<string, number>;
    payStatuses: Record<string, number>;
    payRetries: number;
    payments: Array<{ paymentId: string }>;
  };
  const hold = summarize(result.samples.hold ?? [], result.phaseSeconds.race);
  const reads = summarize(result.samples['seat map (during race)'] ?? [], result.phaseSeconds.race);
  const charge = summarize(result.samples.charge ?? []);
  const pay = summarize(result.samples.pay ?? []);
  const checks: Check[] = [
    ...(await seatChecks(ds, concertId, date, { sold: 50 })),
    {
      name: 'every winner paid',
      ok: extra.payments.length === 50 && extra.wins.length === 50,
      detail: `${extra.wins.length} winners, ${extra.payments.length} payments answered 201 (${JSON.stringify(extra.payStatuses)})`,
    },
    await paymentsPresent(
      ds,
      extra.payments.map((p) => p.paymentId),
    ),
    await moneyCheck(ds),
    {
      name: 'no 5xx in the race',
      ok: hold.failures === 0 && reads.failures === 0,
      detail: `unexpected answers ${JSON.stringify(extra.unexpected)}`,
    },
  ];
  const won = new Set(extra.wins.map((w) => w.userId));
  ctx.say(`  holds ${hold.perSecond}/s p99 ${hold.p99} ms; ${extra.payments.length} payments, pay p99 ${pay.p99} ms`);
  for (const c of checks) ctx.say(`  ${c.ok ? 'ok' : 'FAILED'}: ${c.name}: ${c.detail}`);
  return {
    losers: users.filter((u) => !won.has(u.userId)),
    result: withCpu(
      {
        id: 'sellout',
        title: `Sell-out: ${users.length} users, 50 seats, then 50 payments at once`,
        setup: {
          users: users.length,
          seats: 50,
          apiProcesses: api.urls.length,
          client: 'fetch (undici), one connection per user',
        },
        rows: [
          row('sell-out', 'POST /v1/reservations (race)', hold, { text: 'no 5xx', met: hold.failures === 0 }),
          row('sell-out', 'GET seats (during race)', reads),
          row('sell-out', 'POST charge (winners)', charge),
          row('sell-out', 'POST /v1/payments (50 at once)', pay, {
            text: 'all succeed',
            met: extra.payments.length === 50,
          }),
        ],
        numbers: {
          'hold attempts': extra.attempts,
          'payment retries (5xx / network)': extra.payRetries,
          'race seconds': result.phaseSeconds.race,
        },
        checks,
        plot: plot(ctx, 'sellout', 'Sell-out: holds, seat map reads, charges and payments', result.samples),
      },
      cpu,
    ),
  };
}

// ---------------------------------------------------------------- one-seat race

/** One-seat race: all users fire at the same seat at once, for a few seats in turn. */
export async function oneSeatRace(
  ctx: Ctx,
  api: ServiceApi,
  users: BenchUser[],
  concertId: string,
  date: string,
  rounds: number,
): Promise<ScenarioResult> {
  const op = 'POST /v1/reservations (one seat)';
  const specs: CannonSpec[] = Array.from({ length: rounds }, (_, r) => ({
    op,
    urls: [...api.urls],
    method: 'POST',
    items: users.map((u) => ({
      path: '/v1/reservations',
      headers: { authorization: `Bearer ${u.token}` },
      body: JSON.stringify({ concertId, date, seatNo: r + 1 }),
    })),
    pick: 'next',
    connections: users.length,
    amount: users.length,
  }));
  ctx.say(`One-seat race: ${users.length} users at once on one seat, ${rounds} rounds (seats 1–${rounds} of ${date})…`);
  const { result, cpu } = await runLoad('race', { kind: 'cannon', specs }, ctx);
  const samples = result.samples[op] ?? [];
  const roundSeconds = (result.extra.roundSeconds as number[]) ?? [];
  const summary = summarize(
    samples,
    roundSeconds.reduce((a, b) => a + b, 0),
  );
  const winners = summary.byStatus['201'] ?? 0;
  const s5xx = summary.failures;
  const met = summary.perSecond >= 2000 && summary.p99 < 100 && s5xx === 0 && winners === rounds;
  ctx.say(`  ${summary.perSecond} answers/s, p99 ${summary.p99} ms, ${winners} winners, ${s5xx} 5xx/errors`);
  return withCpu(
    {
      id: 'race',
      title: `One-seat race: ${users.length} users on one seat × ${rounds}`,
      setup: { users: users.length, rounds, connections: users.length, client: 'autocannon, one connection per user' },
      rows: [row('one-seat race', op, summary, { text: '≥2000/s, p99<100, one 201, 0 5xx', met })],
      numbers: { statuses: summary.byStatus, 'round seconds': roundSeconds.map((s) => Math.round(s * 1000) / 1000) },
      checks: [
        {
          name: 'exactly one winner per seat',
          ok: winners === rounds,
          detail: `${winners} answers 201 over ${rounds} seats`,
        },
        { name: 'never a 5xx', ok: s5xx === 0, detail: `${s5xx} 5xx or network errors` },
        {
          name: 'every loser told 409',
          ok: (summary.byStatus['409'] ?? 0) === users.length * rounds - winners,
          detail: `${summary.byStatus['409'] ?? 0} answers 409`,
        },
      ],
      plot: plot(ctx, 'race', 'One-seat race: POST /v1/reservations, all users on one seat', result.samples),
    },
    cpu,
  );
}

// ---------------------------------------------------------------- seat map reads

/** Seat map reads by ACTIVE users, with a probe that holds seats and checks the next read no longer offers them. */
export async function seatMapReads(
  ctx: Ctx,
  api: ServiceApi,
  readers: BenchUser[],
  prober: BenchUser,
  concertId: string,
  readDate: string,
  probeDate: string,
  id = 'seatmap',
  title = 'Seat map reads under load',
): Promise<ScenarioResult> {
  const op = 'GET seats';
  const read: CannonSpec = {
    op,
    urls: [...api.urls],
    method: 'GET',
    items: readers.map((u) => ({
      path: `/v1/concerts/${concertId}/dates/${readDate}/seats`,
      headers: { authorization: `Bearer ${u.token}` },
    })),
    pick: 'random',
    connections: ctx.scale.readConnections,
    durationS: ctx.scale.readSeconds,
  };
  ctx.say(
    `Seat map reads: ${read.connections} connections for ${read.durationS} s, ${readers.length} ACTIVE users; freshness probe on ${probeDate}…`,
  );
  const { result, cpu } = await runLoad(
    id,
    {
      kind: 'seatmap',
      read,
      probe: {
        urls: [...api.urls],
        adminKey: api.adminKey,
        user: prober,
        concertId,
        date: probeDate,
        seats: Array.from({ length: 50 }, (_, i) => i + 1),
      },
    },
    ctx,
  );
  const summary = summarize(result.samples[op] ?? [], result.phaseSeconds[op]);
  const { freshnessProbes, staleReads } = result.extra as { freshnessProbes: number; staleReads: number };
  const met = summary.perSecond >= 5700 && summary.p99 < 30 && staleReads === 0 && summary.failures === 0;
  ctx.say(`  ${summary.perSecond}/s, p99 ${summary.p99} ms; ${staleReads} stale of ${freshnessProbes} probes`);
  return withCpu(
    {
      id,
      title,
      setup: { connections: read.connections, seconds: read.durationS, readers: readers.length },
      rows: [row(id, `${op} (ACTIVE token)`, summary, { text: '≥5700/s, p99<30, fresh', met })],
      numbers: { 'freshness probes (hold, then read via the other api)': freshnessProbes, 'stale reads': staleReads },
      checks: [
        {
          name: 'fresh data: a seat held a moment ago is never offered',
          ok: staleReads === 0 && freshnessProbes > 0,
          detail: `${staleReads} stale of ${freshnessProbes} probes`,
        },
      ],
      plot: plot(ctx, id, 'Seat map reads (with freshness probe)', result.samples),
    },
    cpu,
  );
}

// ---------------------------------------------------------------- charges

/** Charges across many users at once (some users concurrently), then each balance checked against the 200s. */
export async function chargesScenario(
  ctx: Ctx,
  api: ServiceApi,
  ds: DataSource,
  users: BenchUser[],
  id = 'charges',
  title = 'Charges across many users',
): Promise<ScenarioResult> {
  const op = 'POST charge';
  const amount = 1_000;
  const spec: CannonSpec = {
    op,
    urls: [...api.urls],
    method: 'POST',
    items: users.map((u) => ({
      path: `/v1/users/${u.userId}/balance/charge`,
      headers: { authorization: `Bearer ${u.token}`, 'idempotency-key': `bench-${id}-{seq}` },
      body: JSON.stringify({ amount }),
    })),
    pick: 'random',
    connections: ctx.scale.chargeConnections,
    durationS: ctx.scale.chargeSeconds,
    capture: true,
  };
  const before = new Map<string, number>();
  const ids = users.map((u) => u.userId);
  for (const r of await ds.query<
    Array<{
      id: string;
      balance: string;
    }>
  >(`SELECT id, balance FROM users WHERE id IN (${ids.map(() => '?').join(',')})`, ids))
    before.set(r.id, Number(r.balance));
  const [maxRow] = await ds.query<Array<{ id: string | null }>>('SELECT MAX(id) AS id FROM ledger_entries');
  const ledgerBefore = Number(maxRow?.id ?? 0);
  ctx.say(
    `Charges: ${spec.connections} connections for ${spec.durationS} s over ${users.length} users (random, so some overlap)…`,
  );
  const { result, cpu } = await runLoad(id, { kind: 'cannon', specs: [spec] }, ctx);
  const summary = summarize(result.samples[op] ?? [], result.phaseSeconds[op]);
  const okByUser = new Map<string, number>();
  let unattributed = 0;
  for (const { status, body } of result.captured?.[op] ?? []) {
    if (status !== 200) continue;
    const userId = (body as { userId?: string }).userId;
    if (userId) okByUser.set(userId, (okByUser.get(userId) ?? 0) + 1);
    else unattributed++;
  }
  // A duration-bound run stops with requests in flight whose charges commit unanswered, so
  // the ledger is the reference: per user, balance − before = the sum of its new CHARGE rows,
  // each row's balance_after = the previous one + its amount, and no answered 200 is missing.
  const after = await ds.query<Array<{ id: string; balance: string }>>(
    `SELECT id, balance FROM users WHERE id IN (${ids.map(() => '?').join(',')})`,
    ids,
  );
  const ledger = await ds.query<Array<{ user_id: string; amount: string; balance_after: string }>>(
    `SELECT user_id, amount, balance_after FROM ledger_entries
      WHERE type = 'CHARGE' AND id > ? AND user_id IN (${ids.map(() => '?').join(',')}) ORDER BY user_id, id`,
    [ledgerBefore, ...ids],
  );
  const rowsByUser = new Map<string, Array<{ amount: number; balanceAfter: number }>>();
  for (const r of ledger) {
    const list = rowsByUser.get(r.user_id) ?? [];
    list.push({ amount: Number(r.amount), balanceAfter: Number(r.balance_after) });
    rowsByUser.set(r.user_id, list);
  }
  let lost = 0;
  let brokenChains = 0;
  let missingAnswered = 0;
  let unanswered = 0;
  for (const r of after) {
    const rows = rowsByUser.get(r.id) ?? [];
    const start = before.get(r.id) ?? 0;
    if (Number(r.balance) - start !== rows.reduce((a, x) => a + x.amount, 0)) lost++;
    let prev = start;
    for (const x of rows) {
      if (x.balanceAfter !== prev + x.amount) brokenChains++;
      prev = x.balanceAfter;
    }
    const answered = okByUser.get(r.id) ?? 0;
    if (rows.length < answered) missingAnswered++;
    unanswered += Math.max(0, rows.length - answered);
  }
  const met =
    summary.perSecond >= 1360 && summary.p99 < 100 && summary.failures === 0 && lost === 0 && brokenChains === 0;
  ctx.say(
    `  ${summary.perSecond}/s, p99 ${summary.p99} ms; ${lost} balances off, ${brokenChains} ledger rows out of chain`,
  );
  return withCpu(
    {
      id,
      title,
      setup: { users: users.length, connections: spec.connections, seconds: spec.durationS, amount },
      rows: [row(id, 'POST /v1/users/{id}/balance/charge', summary, { text: '≥1360/s, p99<100, exact', met })],
      numbers: { statuses: summary.byStatus },
      checks: [
        {
          name: 'no lost update: balance − before = sum of its CHARGE ledger rows, rows chain exactly',
          ok: lost === 0 && brokenChains === 0,
          detail: `${lost} of ${after.length} balances off, ${brokenChains} ledger rows out of chain`,
        },
        {
          name: 'every charge answered 200 is in the ledger',
          ok: missingAnswered === 0 && unattributed === 0 && unanswered <= spec.connections,
          detail: `${missingAnswered} users with fewer rows than 200s; ${unanswered} rows still in flight when the run stopped (≤ ${spec.connections} connections)${unattributed ? `; ${unattributed} answers without userId` : ''}`,
        },
        await moneyCheck(ds),
      ],
      plot: plot(ctx, id, 'Charges: POST /v1/users/{id}/balance/charge', result.samples),
    },
    cpu,
  );
}

// ---------------------------------------------------------------- payments at concurrency

/** Payments at high concurrency: each user holds its own seat, then all pay at once. */
export async function paymentsScenario(
  ctx: Ctx,
  api: ServiceApi,
  ds: DataSource,
  users: BenchUser[],
  concertId: string,
  dates: string[],
  id = 'payments',
): Promise<ScenarioResult> {
  const pairs = users.map((user, i) => ({
    user,
    seat: { concertId, date: dates[Math.floor(i / 50)]!, seatNo: (i % 50) + 1 } satisfies SeatRef,
  }));
  ctx.say(`Payments: ${users.length} users top up, each holds its own seat, then all pay at once…`);
  const { result, cpu } = await runLoad(
    id,
    { kind: 'payments', urls: [...api.urls], adminKey: api.adminKey, pairs, price: PRICE, holdConcurrency: 64 },
    ctx,
  );
  const extra = result.extra as {
    holdStatuses: Record<string, number>;
    payStatuses: Record<string, number>;
    payRetries: number;
    payments: Array<{ paymentId: string }>;
  };
  const hold = summarize(result.samples['hold (own seat)'] ?? [], result.phaseSeconds['hold (own seat)']);
  const pay = summarize(result.samples.pay ?? [], result.phaseSeconds.pay);
  const paidOk = extra.payments.length === users.length;
  const no503 = (pay.byStatus['503'] ?? 0) === 0;
  // Few at once: all succeed quickly; many at once: all succeed, none turned away, at a rate.
  const few = users.length <= 50;
  const target = few ? 'all succeed, p99<500' : 'all succeed, no 503, ≥150/s';
  const met = few ? paidOk && pay.p99 < 500 : paidOk && no503 && pay.okPerSecond >= 150;
  const checks: Check[] = [
    {
      name: `all ${users.length} payments succeed at concurrency ${users.length}`,
      ok: paidOk,
      detail: `pay statuses ${JSON.stringify(extra.payStatuses)}, ${extra.payRetries} retries`,
    },
    await paymentsPresent(
      ds,
      extra.payments.map((p) => p.paymentId),
    ),
  ];
  for (const date of dates) checks.push(...(await seatChecks(ds, concertId, date)).filter((c) => !c.ok));
  checks.push(await moneyCheck(ds));
  ctx.say(
    `  holds ${hold.perSecond}/s p99 ${hold.p99}; payments ${pay.okPerSecond}/s p99 ${pay.p99} ms (${JSON.stringify(extra.payStatuses)})`,
  );
  return withCpu(
    {
      id,
      title: `Payments: ${users.length} at once`,
      setup: { users: users.length, dates: dates.length, holdConcurrency: 64, payConcurrency: users.length },
      rows: [
        row(id, 'POST /v1/reservations (own seat, 64 at a time)', hold),
        row(id, `POST /v1/payments (${users.length} at once)`, pay, { text: target, met }, true),
      ],
      numbers: { 'hold statuses': extra.holdStatuses, 'pay statuses': extra.payStatuses },
      checks,
      plot: plot(ctx, id, 'Payments: own-seat holds, then all pay at once', result.samples, ['hold (own seat)', 'pay']),
    },
    cpu,
  );
}

// ---------------------------------------------------------------- hold release

/** Hold release lateness: holds with a short SEAT_HOLD_SECONDS, watched until free in MySQL and in the seat map. */
export async function holdRelease(
  ctx: Ctx,
  api: ServiceApi,
  ds: DataSource,
  users: BenchUser[],
  concertId: string,
  dates: string[],
  holdSeconds: number,
): Promise<ScenarioResult> {
  const pairs = users.map((user, i) => ({
    user,
    seat: { concertId, date: dates[Math.floor(i / 50)]!, seatNo: (i % 50) + 1 },
  }));
  const released = new Map<string, { seenAt: number; updatedAt: number; heldUntil: number }>();
  const pollReleased = async (): Promise<void> => {
    const rows = await ds.query<Array<{ id: string; heldUntil: Date; updatedAt: Date }>>(
      `SELECT id, held_until AS heldUntil, updated_at AS updatedAt FROM reservations WHERE status <> 'HELD'`,
    );
    const now = Date.now();
    for (const r of rows) {
      if (!released.has(r.id))
        released.set(r.id, { seenAt: now, updatedAt: r.updatedAt.getTime(), heldUntil: r.heldUntil.getTime() });
    }
  };
  ctx.say(`Hold release: ${users.length} holds of ${holdSeconds} s, watched in MySQL and in the seat map…`);
  const { result, cpu } = await runLoad(
    'release',
    {
      kind: 'release',
      urls: [...api.urls],
      adminKey: api.adminKey,
      pairs,
      holdConcurrency: 50,
      pollMs: 50,
      deadlineMs: holdSeconds * 1000 + 30_000,
    },
    {
      ...ctx,
      during: async (stopped) => {
        // MySQL is polled from here while the load process watches the seat maps.
        while (!stopped()) {
          await pollReleased();
          await new Promise((res) => setTimeout(res, 50));
        }
      },
    },
  );
  const extra = result.extra as {
    holdStatuses: Record<string, number>;
    reservations: Array<{ reservationId: string; heldUntil: string }>;
    firstFreeInSeatMap: Record<string, number>;
  };
  // Releases later than the load process watched for are still measured, up to 30 s late.
  const lastHeldUntil = Math.max(0, ...extra.reservations.map((r) => Date.parse(r.heldUntil)));
  while (extra.reservations.some((r) => !released.has(r.reservationId)) && Date.now() < lastHeldUntil + 30_000) {
    await pollReleased();
    await new Promise((res) => setTimeout(res, 50));
  }
  const dbLate: number[] = [];
  const seenLate: number[] = [];
  const mapLate: number[] = [];
  let notReleased = 0;
  const t0 = Math.min(...extra.reservations.map((r) => Date.parse(r.heldUntil)));
  const lateness: Record<string, Sample[]> = { 'MySQL release': [], 'free in seat map': [] };
  for (const r of extra.reservations) {
    const heldUntil = Date.parse(r.heldUntil);
    const rel = released.get(r.reservationId);
    if (rel) {
      dbLate.push(rel.updatedAt - heldUntil);
      seenLate.push(rel.seenAt - heldUntil);
      lateness['MySQL release']!.push([heldUntil - t0, Math.max(0.1, rel.updatedAt - heldUntil), 200]);
    } else notReleased++;
    const free = extra.firstFreeInSeatMap[r.reservationId];
    if (free !== undefined) {
      mapLate.push(free - heldUntil);
      lateness['free in seat map']!.push([heldUntil - t0, Math.max(0.1, free - heldUntil), 200]);
    }
  }
  const db = distribution(dbLate);
  const seen = distribution(seenLate);
  const map = distribution(mapLate);
  const hold = summarize(result.samples['hold (own seat)'] ?? []);
  ctx.say(
    `  release lateness (MySQL row updated − heldUntil): p50 ${db.p50} ms, p99 ${db.p99} ms, max ${db.max} ms; ${notReleased} not released`,
  );
  const lateRow = (op: string, d: ReturnType<typeof distribution>, target?: boolean): Row => ({
    scenario: 'hold release',
    op,
    summary: {
      count: d.count,
      ok: d.count,
      byStatus: {},
      failures: 0,
      seconds: 0,
      perSecond: 0,
      okPerSecond: 0,
      p50: d.p50,
      p95: d.p95,
      p99: d.p99,
      max: d.max,
      mean: 0,
    },
    rate: 0,
    rateOf: 'answers/s',
    target: target ? 'p99 <1 s after heldUntil' : undefined,
    met: target ? d.count === extra.reservations.length && d.p99 < 1000 : undefined,
  });
  return withCpu(
    {
      id: 'release',
      title: `Hold release lateness: ${users.length} holds of ${holdSeconds} s`,
      setup: { holds: users.length, seatHoldSeconds: holdSeconds, mysqlPollMs: 50, seatMapPollMs: 50 },
      rows: [
        row('hold release', 'POST /v1/reservations (setup)', hold),
        lateRow('lateness: MySQL release (updated_at − heldUntil), ms', db, true),
        lateRow('lateness: seen released by a 50 ms MySQL poll, ms', seen),
        lateRow('lateness: seat offered again in GET seats, ms', map),
      ],
      numbers: { 'hold statuses': extra.holdStatuses, 'MySQL lateness ms': db, 'seat map lateness ms': map },
      checks: [
        {
          name: 'every unpaid hold released',
          ok: notReleased === 0 && extra.reservations.length === users.length,
          detail: `${extra.reservations.length} held, ${notReleased} not released within 30 s after the last heldUntil`,
        },
      ],
      // x: heldUntil of each hold; y: how long after it the seat was free (log scale, ≤0 drawn at 0.1 ms).
      plot: plot(ctx, 'release', 'Hold release: how long after heldUntil each seat was free', lateness, undefined, {
        xLabel: 'heldUntil of the hold (since the first one)',
        yLabel: 'free this long after heldUntil (log; ≤ 0 drawn at 0.1 ms)',
      }),
    },
    cpu,
  );
}

// ---------------------------------------------------------------- more ceilings

/** The bare Node HTTP server (no Express, no I/O) under the token burst's client shape: what the client reaches. */
export async function httpCeiling(ctx: Ctx, urls: string[]): Promise<ScenarioResult> {
  const op = 'POST (bare node:http)';
  const spec: CannonSpec = {
    op,
    urls,
    method: 'POST',
    items: [{ path: '/v1/queue/tokens', body: JSON.stringify({ userId: 'ceiling' }) }],
    pick: 'next',
    connections: ctx.scale.httpConnections,
    durationS: ctx.scale.ceilingSeconds,
  };
  ctx.say(`Ceiling: bare Node HTTP server, ${spec.connections} connections for ${spec.durationS} s…`);
  const { result, cpu } = await runLoad('ceiling-http', { kind: 'cannon', specs: [spec] }, ctx);
  const summary = summarize(result.samples[op] ?? [], result.phaseSeconds[op]);
  ctx.say(`  ${summary.perSecond}/s, p99 ${summary.p99} ms`);
  return withCpu(
    {
      id: 'ceiling-http',
      title: 'Ceiling: bare Node HTTP server (same load client)',
      setup: { processes: urls.length, connections: spec.connections, seconds: spec.durationS },
      rows: [row('ceiling', op, summary)],
      numbers: {},
      checks: [],
      plot: plot(ctx, 'ceiling-http', 'Ceiling: bare Node HTTP server', result.samples),
    },
    cpu,
  );
}

/**
 * The Temporal ceiling on the run's Temporal server: a trivial workflow started and awaited,
 * and a trivial update round trip, `temporalConnections` at a time, run by a worker in its own
 * process (bench/temporal-ceiling). `worker` is that process's pid, for the CPU report.
 */
export async function temporalCeiling(
  ctx: Ctx,
  address: string,
  namespace: string,
  taskQueue: string,
): Promise<ScenarioResult> {
  const job = {
    kind: 'temporal' as const,
    address,
    namespace,
    taskQueue,
    connections: ctx.scale.temporalConnections,
    durationS: ctx.scale.temporalSeconds,
  };
  ctx.say(
    `Temporal ceiling: bare workflows, then bare updates, ${job.connections} at a time, ${job.durationS} s each…`,
  );
  const { result, cpu } = await runLoad('ceiling-temporal', job, ctx);
  const starts = summarize(
    result.samples['workflow start+complete'] ?? [],
    result.phaseSeconds['workflow start+complete'],
  );
  const updates = summarize(result.samples['update round trip'] ?? [], result.phaseSeconds['update round trip']);
  ctx.say(
    `  ${starts.okPerSecond} workflows/s (p99 ${starts.p99} ms); ${updates.okPerSecond} updates/s (p99 ${updates.p99} ms)`,
  );
  return withCpu(
    {
      id: 'ceiling-temporal',
      title: 'Ceiling: Temporal (trivial workflow start-and-complete; trivial update round trip)',
      setup: {
        connections: job.connections,
        seconds: job.durationS,
        worker: '1 process (bench/temporal-ceiling/worker.ts)',
      },
      rows: [
        row('ceiling', 'Temporal workflow start+complete', starts, undefined, true),
        row('ceiling', 'Temporal update round trip', updates, undefined, true),
      ],
      numbers: { 'workflows per second': starts.okPerSecond, 'updates per second': updates.okPerSecond },
      checks: [
        {
          name: 'every ceiling call succeeded',
          ok: starts.failures === 0 && updates.failures === 0 && starts.count > 0 && updates.count > 0,
          detail: `${starts.failures} failed starts, ${updates.failures} failed updates`,
        },
      ],
      plot: plot(ctx, 'ceiling-temporal', 'Ceiling: Temporal', result.samples),
    },
    cpu,
  );
}

// ---------------------------------------------------------------- burst, then follow

/** Compares the seat map and charges right after a burst with their quiet figures (within 10 %). */
export function followComparison(
  quiet: { seatmap?: ScenarioResult; charges?: ScenarioResult },
  after: { seatmap?: ScenarioResult; charges?: ScenarioResult; burst?: ScenarioResult },
): ScenarioResult {
  const rows: Row[] = [];
  const numbers: Record<string, unknown> = {};
  const checks: Check[] = [];
  for (const key of ['seatmap', 'charges'] as const) {
    const q = quiet[key]?.rows[0];
    const a = after[key]?.rows[0];
    if (!q || !a) continue;
    const ratio = q.rate > 0 ? Math.round((a.rate / q.rate) * 1000) / 1000 : 0;
    const within = ratio >= 0.9;
    rows.push({ ...a, scenario: 'burst then follow', target: '≥0.9× quiet', met: within });
    numbers[`${key}: after / quiet rate`] = ratio;
    numbers[`${key}: p99 after / quiet`] = `${a.summary.p99} / ${q.summary.p99} ms`;
    checks.push({ name: `${key} within 10 % of quiet`, ok: within, detail: `${a.rate}/s after vs ${q.rate}/s quiet` });
  }
  return {
    id: 'follow',
    title: 'Burst then follow: seat map and charges right after a token burst, against their quiet figures',
    setup: { burst: after.burst?.setup ?? {} },
    rows,
    numbers,
    checks: [...checks, ...(after.seatmap?.checks ?? []), ...(after.charges?.checks ?? [])],
    cpu: after.charges?.cpu ?? after.seatmap?.cpu,
    saturation: [after.seatmap?.saturation, after.charges?.saturation].filter(Boolean).join(' | '),
  };
}

// ---------------------------------------------------------------- sustained admission

/**
 * Steps admitPerSecond up while a waiting line is there, and reads for each step the rate at
 * which users actually left the line (Δwaiting per second) and the workers' task backlog.
 * A step is kept up with when ≥ 90 % of the setting is admitted and the backlog at its end is
 * no larger than at its start (+ 20). Returns the highest such step.
 */
export async function admitSustain(ctx: Ctx, api: ServiceApi, maxActive: number): Promise<ScenarioResult> {
  const steps: Array<Record<string, number | boolean>> = [];
  let best = 0;
  const backlogOf = async (): Promise<number> => {
    if (!ctx.backlog) return 0;
    const b = await ctx.backlog().catch(() => ({}));
    return Object.values(b).reduce((a, q) => a + q.workflow + q.activity, 0);
  };
  const from = Date.now();
  const cpuProbe = new CpuProbe(ctx.watched);
  cpuProbe.start();
  for (const rate of ctx.scale.admitSteps) {
    const before = await api.queue();
    if (before.status !== 200 || before.body.waiting < rate * ctx.scale.admitStepSeconds) {
      ctx.say(`  admission: ${before.body.waiting} waiting, not enough for a ${rate}/s step; stopping here`);
      break;
    }
    const backlogStart = await backlogOf();
    await api.setQueue({ maxActive, admitPerSecond: rate, paused: false });
    const t = Date.now();
    const w0 = before.body.waiting;
    let backlogMax = backlogStart;
    while (Date.now() - t < ctx.scale.admitStepSeconds * 1000) {
      await sleep(1_000);
      backlogMax = Math.max(backlogMax, await backlogOf());
    }
    const after = await api.queue();
    const seconds = (Date.now() - t) / 1000;
    const admitted = (w0 - after.body.waiting) / seconds;
    const backlogEnd = await backlogOf();
    const kept = admitted >= rate * 0.9 && backlogEnd <= backlogStart + 20;
    steps.push({
      admitPerSecond: rate,
      admittedPerSecond: Math.round(admitted),
      backlogStart,
      backlogMax,
      backlogEnd,
      kept,
    });
    ctx.say(
      `  admitPerSecond ${rate}: ${Math.round(admitted)}/s admitted, backlog ${backlogStart}→${backlogEnd} (max ${backlogMax}) ${kept ? 'kept up' : 'NOT kept up'}`,
    );
    if (kept) best = rate;
    else break;
  }
  await api.setQueue({ paused: true }).catch(() => undefined);
  const cpu = cpuProbe.stop();
  ctx.windows?.push({ scenario: 'admit', from, to: Date.now() });
  return {
    id: 'admit',
    title: 'Highest sustained admitPerSecond (entry workflows started, no backlog growing)',
    setup: { steps: ctx.scale.admitSteps, stepSeconds: ctx.scale.admitStepSeconds },
    rows: [],
    numbers: { 'highest admitPerSecond kept up with': best, steps },
    checks: [],
    cpu,
    saturation: saturationNote(cpu),
  };
}

// ---------------------------------------------------------------- payment at the edge

/** Payments fired from 300 ms before to 300 ms after each hold's heldUntil: the ones in time must succeed. */
export async function paymentEdge(
  ctx: Ctx,
  api: ServiceApi,
  users: BenchUser[],
  concertId: string,
  date: string,
): Promise<ScenarioResult> {
  const pairs = users.map((user, i) => ({ user, seat: { concertId, date, seatNo: i + 1 } }));
  ctx.say(`Payment at the edge: ${pairs.length} payments fired from 300 ms before to 300 ms after heldUntil…`);
  const { result, cpu } = await runLoad(
    'edge',
    { kind: 'edge', urls: [...api.urls], adminKey: api.adminKey, pairs, price: PRICE, spreadMs: 300 },
    ctx,
  );
  const payments = (result.extra.payments ?? []) as Array<{
    offsetMs: number;
    sentMinusHeldUntil: number;
    status: number;
  }>;
  const fired = payments.filter((p) => Number.isFinite(p.sentMinusHeldUntil));
  const before = fired.filter((p) => p.sentMinusHeldUntil < 0);
  const after = fired.filter((p) => p.sentMinusHeldUntil >= 0);
  const ok = (list: typeof fired): number => list.filter((p) => p.status === 201).length;
  // Sent before heldUntil on loopback: it reached the API before heldUntil unless the api was slower
  // than the margin to read it, so the check allows 20 ms of transit.
  const clearlyInTime = fired.filter((p) => p.sentMinusHeldUntil < -20);
  const missed = clearlyInTime.filter((p) => p.status !== 201);
  ctx.say(
    `  sent before heldUntil ${before.length} (${ok(before)} succeeded), after ${after.length} (${ok(after)} succeeded)`,
  );
  const pay = summarize(result.samples['pay (at the edge)'] ?? []);
  return withCpu(
    {
      id: 'edge',
      title: 'Payment at the edge: payments fired from 300 ms before to 300 ms after heldUntil',
      setup: { payments: pairs.length, spreadMs: 300 },
      rows: [
        row('payment at the edge', 'POST /v1/payments (around heldUntil)', pay, {
          text: 'every in-time payment succeeds',
          met: missed.length === 0 && fired.length === pairs.length,
        }),
      ],
      numbers: {
        'sent before heldUntil': before.length,
        'sent before heldUntil and succeeded': ok(before),
        'sent at or after heldUntil': after.length,
        'sent at or after heldUntil and succeeded': ok(after),
        'statuses (sent−heldUntil ms: status)': fired.map((p) => `${p.sentMinusHeldUntil}:${p.status}`).join(' '),
      },
      checks: [
        {
          name: 'every payment sent > 20 ms before heldUntil succeeded',
          ok: missed.length === 0 && fired.length === pairs.length,
          detail: `${clearlyInTime.length - missed.length} of ${clearlyInTime.length} succeeded; ${pairs.length - fired.length} holds failed`,
        },
      ],
    },
    cpu,
  );
}

/** A stand-in row set for a scenario that failed, so the table says so. */
export function failed(id: string, title: string, err: unknown): ScenarioResult {
  return {
    id,
    title,
    setup: {},
    rows: [],
    numbers: {},
    checks: [],
    error: err instanceof Error ? err.message : String(err),
  };
}

export type { LoadResult };
