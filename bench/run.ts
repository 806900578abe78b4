/**
 * `npm run bench [-- --quick] [--only=<scenarios>] [--runs=N] [--apis=N --workers=M]
 *   [--profile=embedded|cluster] [--profile-cpu] [--plots] [--keep] [--temporal-db=disk|disk-fsync|shm|memory]`
 *
 * Provisions MariaDB and Redis, starts the service through a profile (embedded: its own
 * Temporal dev server and 1 api + 1 worker process by default, the `npm start` shape), runs
 * each scenario from a separate load process, measures every process's CPU while it runs,
 * checks the invariants in MySQL, and repeats the whole set `--runs` times (3 by default, 1
 * with --quick). Prints a table of medians and writes bench/results/latest.md and
 * latest.json (--quick: /tmp/concert-bench-quick). Everything it started is stopped at the
 * end, by pid. See bench/README.md for the scenarios and how to read the table.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { testConfig } from '../scripts/lib/config';
import { createTestDatabase } from '../scripts/lib/db';
import type { TestDatabase } from '../scripts/lib/db';
import { ensureWorkflowBundle, TEMPORAL_STORAGES } from '../scripts/lib/dev-server';
import type { TemporalStorage } from '../scripts/lib/dev-server';
import { ROOT, stopChild } from '../scripts/lib/process';
import { createTestRedis } from '../scripts/lib/redis';
import { ensureMariaDb, ensureRedis, freePort } from '../scripts/provision';
import { loadConfig } from '../src/config';
import type { Config } from '../src/config';
import { createDataSource } from '../src/db/data-source';
import { CEILING_ROWS, prepareCeilingTable } from './ceiling-server';
import { aggregate } from './lib/aggregate';
import { ServiceApi, identityEnv } from '../scripts/lib/api';
import { infrastructurePids } from './lib/cpu';
import type { Watched } from './lib/cpu';
import { profileMarkdown, summarizeProfiles } from './lib/cpuprofile';
import type { ProfileSummary } from './lib/cpuprofile';
import type { BenchUser } from '../scripts/lib/http';
import { PROFILES, startProfile } from './lib/profile';
import type { BenchProfile, ProfileName, RunningStack } from './lib/profile';
import { markdown, textTable } from './lib/report';
import type { RunMeta, ScenarioResult } from './lib/report';
import {
  FULL,
  PRICE,
  QUICK,
  admit,
  admitSustain,
  ceilings,
  chargesScenario,
  failed,
  followComparison,
  holdRelease,
  httpCeiling,
  oneSeatRace,
  paymentEdge,
  paymentsScenario,
  seatMapReads,
  sellOutScenario,
  settle,
  temporalCeiling,
  tokenBurst,
  identityCost,
  verifyIdentitiesFirst,
} from './lib/scenarios';
import type { Ctx } from './lib/scenarios';

const SCENARIOS = [
  'ceilings',
  'temporal',
  'tokens',
  'sellout',
  'race',
  'seatmap',
  'charges',
  'payments50',
  'payments',
  'follow',
  'admit',
  'release',
  'edge',
] as const;
type ScenarioId = (typeof SCENARIOS)[number];

/** Scenarios whose API time goes through Temporal, and which Temporal ceiling each is read against. */
const TEMPORAL_BACKED: Record<string, 'workflow' | 'update'> = {
  tokens: 'workflow',
  race: 'workflow',
  sellout: 'workflow',
  payments50: 'update',
  payments: 'update',
};

/** Scenarios the --profile-cpu summaries cover (the api's hot paths). */
const PROFILED = ['tokens', 'race', 'seatmap', 'charges'];

const TARGETS = [
  'Targets (issue 14, this 2-core box, 1 api + 1 worker, medians of 3 runs): token burst ≥ 4,800/s, p99 < 100 ms and',
  '≥ 0.5× the bare HTTP server; one-seat race ≥ 2,000 attempts/s, p99 < 100 ms, exactly one 201, no 5xx; seat map',
  '≥ 5,700/s, p99 < 30 ms, fresh; charges ≥ 1,360/s, p99 < 100 ms, exact; 50 payments at once all succeed, p99 < 500 ms;',
  '500 at once all succeed, no 503, ≥ 150/s; hold release p99 < 1 s after heldUntil with 200 lapsing together; seat map',
  'and charges right after a 10,000-user burst within 10 % of quiet; every payment that reached the API before',
  'heldUntil succeeds. The earlier run this is compared with is bench/results/baseline.md.',
].join('\n');

const t0 = Date.now();
const say = (msg: string): void => {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[bench ${s}s] ${msg}\n`);
};

/** Things to undo at the end, last first. */
const cleanups: Array<[string, () => Promise<void>]> = [];
async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    const [name, fn] = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      say(`cleanup of ${name} failed: ${String(err)}`);
    }
  }
}

interface Options {
  quick: boolean;
  keep: boolean;
  only: Set<ScenarioId>;
  storage: TemporalStorage;
  runs: number;
  apis: number;
  workers: number;
  profile: ProfileName;
  profileCpu: boolean;
  plots: boolean;
}

function parseArgs(): Options {
  const args = process.argv.slice(2);
  const value = (name: string): string | undefined =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const count = (name: string, fallback: number): number => {
    const v = value(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const onlyArg = value('only');
  const only = new Set<ScenarioId>(onlyArg ? (onlyArg.split(',') as ScenarioId[]) : [...SCENARIOS]);
  for (const s of only)
    if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`);
  const storage = value('temporal-db') ?? 'disk';
  if (!(TEMPORAL_STORAGES as readonly string[]).includes(storage))
    throw new Error(`--temporal-db must be one of ${TEMPORAL_STORAGES.join(', ')}`);
  const profile = value('profile') ?? 'embedded';
  if (!(PROFILES as readonly string[]).includes(profile))
    throw new Error(`--profile must be one of ${PROFILES.join(', ')}`);
  const quick = args.includes('--quick');
  return {
    quick,
    keep: args.includes('--keep'),
    only,
    storage: storage as TemporalStorage,
    runs: count('runs', quick ? 1 : 3),
    apis: count('apis', 1),
    workers: count('workers', 1),
    profile: profile as ProfileName,
    profileCpu: args.includes('--profile-cpu'),
    plots: args.includes('--plots'),
  };
}

/** `count` processes of bench/ceiling-server.ts (`kind` http: the bare Node server). */
async function startCeilingServers(
  count: number,
  kind: 'express' | 'http',
  databaseUrl: string,
  redisUrl: string,
): Promise<Array<{ child: ChildProcess; url: string }>> {
  return Promise.all(
    Array.from({ length: count }, async (_, n) => {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'ceiling-server.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          DATABASE_URL: databaseUrl,
          REDIS_URL: redisUrl,
          POOL_SIZE: '20',
          CEILING_KIND: kind,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const log: string[] = [];
      child.stderr?.on('data', (c: Buffer) => log.push(c.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (c: Buffer) => {
          if (c.toString().includes('listening')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`ceiling server ${n + 1} exited with ${code}: ${log.join('')}`)));
      });
      return { child, url: `http://127.0.0.1:${port}` };
    }),
  );
}

/** The Temporal ceiling's worker (bench/temporal-ceiling/worker.ts), resolved once it polls. */
async function startCeilingWorker(address: string, taskQueue: string, logFile: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench', 'temporal-ceiling', 'worker.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_TASK_QUEUE: taskQueue },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-4000);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Temporal ceiling worker not running after 120 s: ${err}`)),
      120_000,
    );
    child.stdout?.on('data', (c: Buffer) => {
      if (c.toString().includes('worker running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Temporal ceiling worker exited with ${code}: ${err}`));
    });
  });
  child.stderr?.on('end', () => writeFileSync(logFile, err));
  return child;
}

const DATES = ['2026-12-24', '2026-12-25', '2026-12-26'];
const datesFrom = (start: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) =>
    new Date(Date.parse(`${start}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
  );

/** What one run shares with the orchestration around it. */
interface RunEnv {
  opts: Options;
  base: Config;
  profile: BenchProfile;
  ctx: Ctx;
  setStackWatch: (w: Watched[]) => void;
  databases: TestDatabase[];
  workDir: string;
  /** CPU profile summaries, filled when --profile-cpu. */
  profiles: ProfileSummary[];
}

async function guardedRun<T>(title: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    say(`${title} failed: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/** Starts a stack through the profile with a fresh database, Redis prefix and task queue. */
async function freshStack(
  env: RunEnv,
  label: string,
  overrides: Partial<Config>,
  apiNodeArgs: string[] = [],
): Promise<{ stack: RunningStack; config: Config; ds: ReturnType<typeof createDataSource>; api: ServiceApi }> {
  const db = await createTestDatabase(env.base.databaseUrl, 10);
  env.databases.push(db);
  const id = randomUUID().slice(0, 8);
  const config: Config = testConfig({
    databaseUrl: db.url,
    redisKeyPrefix: `bench:${id}:`,
    taskQueue: `bench-${id}`,
    activeTokenTtlSeconds: 3600,
    logLevel: 'warn',
    ...overrides,
  });
  cleanups.push([`Redis keys (${label})`, () => createTestRedis(config.redisKeyPrefix, config.redisUrl).cleanup()]);
  const ds = createDataSource({ url: db.url, poolSize: 4 });
  await ds.initialize();
  cleanups.push([`${label} DataSource`, () => ds.destroy()]);
  say(`starting ${env.opts.apis} api + ${env.opts.workers} worker processes (${env.profile.name}, ${label})…`);
  const stack = await env.profile.start({
    config,
    apis: env.opts.apis,
    workers: env.opts.workers,
    env: identityEnv(),
    apiNodeArgs,
  });
  cleanups.push([`${label} stack`, () => stack.stop()]);
  env.setStackWatch(stack.watched);
  const backlogProbe = await taskQueueBacklog(stack.temporalAddress, stack.config);
  env.ctx.backlog = backlogProbe;
  env.ctx.notices = () => pendingNotices(stack.urls);
  cleanups.push([`backlog probe (${label})`, () => backlogProbe.close()]);
  say(`api ${stack.urls.join(', ')}; pids ${stack.watched.map((w) => `${w.name}=${w.pid}`).join(' ')}`);
  return { stack, config: stack.config, ds, api: new ServiceApi(stack.urls, config.adminApiKey) };
}

/** One run of every selected scenario; returns its results. */
async function oneRun(env: RunEnv, run: number): Promise<ScenarioResult[]> {
  const { opts, base, ctx } = env;
  const { only } = opts;
  const scale = ctx.scale;
  const results: ScenarioResult[] = [];
  const push = (r: ScenarioResult | undefined, id: string, title: string, err?: unknown): void => {
    results.push(r ?? failed(id, title, err ?? 'see the log above'));
  };
  say(`==== run ${run} of ${opts.runs}`);

  // ---- ceilings (bare servers; as many processes as the stack has apis)
  let httpPerSecond: number | undefined;
  if (only.has('ceilings') || only.has('tokens')) {
    const r = await guardedRun('bare HTTP ceiling', async () => {
      const servers = await startCeilingServers(opts.apis, 'http', base.databaseUrl, base.redisUrl);
      env.setStackWatch(servers.map((s, i) => ({ name: `bare-http-${i + 1}`, pid: s.child.pid! })));
      try {
        return await httpCeiling(
          ctx,
          servers.map((s) => s.url),
        );
      } finally {
        for (const s of servers) await stopChild(s.child);
        env.setStackWatch([]);
      }
    });
    push(r, 'ceiling-http', 'Ceiling: bare Node HTTP server');
    httpPerSecond = r?.rows[0]?.summary.perSecond;
  }
  if (only.has('ceilings')) {
    const out = await guardedRun('Express ceilings', async () => {
      const db = await createTestDatabase(base.databaseUrl, 2);
      env.databases.push(db);
      await prepareCeilingTable(db.url);
      const servers = await startCeilingServers(opts.apis, 'express', db.url, base.redisUrl);
      env.setStackWatch(servers.map((s, i) => ({ name: `ceiling-${i + 1}`, pid: s.child.pid! })));
      try {
        return await ceilings(
          ctx,
          servers.map((s) => s.url),
          CEILING_ROWS,
        );
      } finally {
        for (const s of servers) await stopChild(s.child);
        env.setStackWatch([]);
      }
    });
    if (out) results.push(...out);
    else push(undefined, 'ceilings', 'Ceilings (Express + Redis, Express + MySQL)');
  }

  // ---- the Temporal ceiling, on the same Temporal server the stacks use. The cluster profile
  // knows that server only once a stack has started: then it runs right after the first stack
  // is up, before that stack's scenarios.
  let temporalCeil: { workflow: number; update: number } | undefined;
  let ceilingDue = only.has('temporal');
  /** `watched`: what the bench samples again afterwards (the running stack's processes). */
  const measureTemporalCeiling = async (watched: Watched[] = []): Promise<void> => {
    ceilingDue = false;
    const r = await guardedRun('Temporal ceiling', async () => {
      const address = await env.profile.temporalAddress();
      const taskQueue = `bench-ceiling-${randomUUID().slice(0, 8)}`;
      const worker = await startCeilingWorker(address, taskQueue, path.join(env.workDir, 'logs', `${taskQueue}.log`));
      env.setStackWatch([{ name: 'ceiling-worker', pid: worker.pid! }, ...env.profile.temporalWatched()]);
      try {
        return await temporalCeiling(ctx, address, base.temporalNamespace, taskQueue);
      } finally {
        await stopChild(worker);
        env.setStackWatch(watched);
      }
    });
    push(r, 'ceiling-temporal', 'Ceiling: Temporal');
    if (r) temporalCeil = { workflow: r.rows[0]!.rate, update: r.rows[1]!.rate };
  };
  if (ceilingDue && env.profile.temporalBeforeStack) await measureTemporalCeiling();

  // ---- the main stack
  // Every scenario but the ceilings and the short-hold stack's (release, edge).
  const mainScenarios = SCENARIOS.filter((s) => !['ceilings', 'temporal', 'release', 'edge'].includes(s));
  if (mainScenarios.some((s) => only.has(s))) {
    const cpuProfDir = path.join(env.workDir, `cpuprof-run${run}`);
    const { stack, ds, api } = await freshStack(
      env,
      'main',
      // Nobody is admitted during the token burst; scenarios open the queue when they need ACTIVE users.
      { queueMaxActive: 0, queueAdmitPerSecond: 0 },
      opts.profileCpu ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [],
    );
    const windowsFrom = ctx.windows?.length ?? 0;
    try {
      if (ceilingDue) await measureTemporalCeiling(stack.watched);
      const concert = await api.createConcert('Bench on-sale', DATES, PRICE);
      const payDates = datesFrom('2027-01-01', Math.ceil((scale.payUsers + scale.payFewUsers) / 50) + 1);
      const payConcert = await api.createConcert('Bench payments', payDates, PRICE);

      const userIds = Array.from({ length: scale.burstUsers }, () => randomUUID());
      // Untimed: warms the api's request path and identity check, so the burst does not run on a cold JIT.
      if (only.has('tokens'))
        await verifyIdentitiesFirst(
          ctx,
          stack.urls,
          userIds.slice(0, 1000).map(() => randomUUID()),
        );
      const burst = await tokenBurst(ctx, stack.urls, userIds, httpPerSecond);
      if (only.has('tokens')) results.push(burst.result);
      const caughtUp = await settle(ctx, 'the token burst');
      if (caughtUp !== null)
        Object.assign(burst.result.numbers, { 'seconds until no task waited (after the burst)': caughtUp });
      // Issue 11: checking identities may cost the burst at most 10 %. Its users join the line
      // behind the main burst's, so the admissions below still take the main burst's users.
      if (only.has('tokens')) results.push(await identityCost(ctx, stack.urls, Math.round(scale.burstUsers / 2)));
      const ranked = [...burst.tokens.values()].sort((a, b) => a.position - b.position);
      const toUser = (t: { userId: string; token: string }): BenchUser => ({ userId: t.userId, token: t.token });
      const payFewers = scale.payFewUsers;
      const admitCount = Math.min(ranked.length, scale.selloutUsers + payFewers + scale.payUsers);
      const admitted = ranked.slice(0, admitCount).map(toUser);
      const waiting = ranked.slice(admitCount).map(toUser);
      const sellers = admitted.slice(0, scale.selloutUsers);
      const fewPayers = admitted.slice(scale.selloutUsers, scale.selloutUsers + payFewers);
      const payers = admitted.slice(scale.selloutUsers + payFewers);

      let losers = sellers;
      const quiet: { seatmap?: ScenarioResult; charges?: ScenarioResult } = {};
      const needsActive = ['sellout', 'race', 'seatmap', 'payments50', 'payments', 'follow'].some((s) =>
        only.has(s as ScenarioId),
      );
      if (needsActive) {
        const admission = await admit(ctx, api, admitted, admitCount);
        await settle(ctx, 'the admission');
        if (only.has('tokens')) Object.assign(burst.result.numbers, { admission });
        if (only.has('sellout') || only.has('race')) {
          try {
            const out = await sellOutScenario(ctx, api, ds, sellers, concert.concertId, DATES[0]!);
            if (only.has('sellout')) results.push(out.result);
            losers = out.losers;
          } catch (err) {
            say(`sell-out failed: ${String(err)}`);
            results.push(failed('sellout', 'Sell-out', err));
          }
        }
        if (only.has('race')) {
          await settle(ctx, 'the sell-out');
          push(
            await guardedRun('race', () =>
              oneSeatRace(ctx, api, losers.slice(0, scale.raceUsers), concert.concertId, DATES[1]!, scale.raceRounds),
            ),
            'race',
            'One-seat race',
          );
        }
        if (only.has('seatmap') || only.has('follow')) {
          await settle(ctx, 'the race');
          quiet.seatmap = await guardedRun('seat map', () =>
            // The prober is the last loser: the race's first users win its seats and reach MAX_HOLDS_PER_USER.
            seatMapReads(ctx, api, losers.slice(0, -1), losers.at(-1)!, concert.concertId, DATES[1]!, DATES[2]!),
          );
          if (only.has('seatmap')) push(quiet.seatmap, 'seatmap', 'Seat map reads');
        }
      }
      if (only.has('charges') || only.has('follow')) {
        await settle(ctx, 'the previous scenario');
        quiet.charges = await guardedRun('charges', () =>
          chargesScenario(ctx, api, ds, waiting.slice(0, scale.chargeUsers)),
        );
        if (only.has('charges')) push(quiet.charges, 'charges', 'Charges');
      }
      if (only.has('payments50')) {
        await settle(ctx, 'the previous scenario');
        push(
          await guardedRun('payments (few)', () =>
            paymentsScenario(ctx, api, ds, fewPayers, payConcert.concertId, payDates.slice(-1), 'payments50'),
          ),
          'payments50',
          `Payments: ${payFewers} at once`,
        );
      }
      if (only.has('payments')) {
        await settle(ctx, 'the previous scenario');
        push(
          await guardedRun('payments', () =>
            paymentsScenario(ctx, api, ds, payers, payConcert.concertId, payDates.slice(0, -1)),
          ),
          'payments',
          `Payments: ${payers.length} at once`,
        );
      }
      if (only.has('follow') || only.has('admit')) {
        await settle(ctx, 'the previous scenario');
        const followIds = Array.from({ length: scale.followBurstUsers }, () => randomUUID());
        const followBurst = await tokenBurst(
          ctx,
          stack.urls,
          followIds,
          httpPerSecond,
          'follow-burst',
          `Token burst before the follow-up (${followIds.length} users)`,
        );
        if (only.has('follow')) {
          // Straight after the burst, no settling: whatever the burst left behind competes with these.
          const seatmap = losers.length
            ? await guardedRun('seat map after the burst', () =>
                seatMapReads(
                  ctx,
                  api,
                  losers.slice(0, -1),
                  losers.at(-1)!,
                  concert.concertId,
                  DATES[1]!,
                  DATES[2]!,
                  'seatmap-after-burst',
                  'Seat map reads right after the burst',
                ),
              )
            : undefined;
          const charges = await guardedRun('charges after the burst', () =>
            chargesScenario(
              ctx,
              api,
              ds,
              waiting.slice(0, scale.chargeUsers),
              'charges-after-burst',
              'Charges right after the burst',
            ),
          );
          results.push(followComparison(quiet, { seatmap, charges, burst: followBurst.result }));
        }
        if (only.has('admit')) {
          await settle(ctx, 'the follow-up');
          push(
            await guardedRun('sustained admission', () => admitSustain(ctx, api, 1_000_000)),
            'admit',
            'Highest sustained admitPerSecond',
          );
        }
      }
    } finally {
      say('stopping the main stack…');
      await stack.stop();
      env.setStackWatch([]);
      env.ctx.backlog = undefined;
      env.ctx.notices = undefined;
    }
    if (opts.profileCpu) {
      const windows = (ctx.windows ?? []).slice(windowsFrom).filter((w) => PROFILED.includes(w.scenario));
      const summaries = summarizeProfiles(cpuProfDir, stack.apis, windows);
      for (const s of summaries) s.scenario = `run ${run}: ${s.scenario}`;
      env.profiles.push(...summaries);
      if (!summaries.length) say(`no CPU profiles found in ${cpuProfDir}`);
    }
  }

  // ---- short holds: release lateness and payments at the edge
  if (only.has('release') || only.has('edge')) {
    const holdSeconds = 3;
    const { ds, api, stack } = await freshStack(env, 'short holds', {
      seatHoldSeconds: holdSeconds,
      queueMaxActive: 10_000,
      queueAdmitPerSecond: 10_000,
    });
    try {
      if (ceilingDue) await measureTemporalCeiling(stack.watched);
      const releaseDates = datesFrom('2027-06-01', Math.ceil(scale.releaseHolds / 50));
      const concert = await api.createConcert('Bench release', [...releaseDates, '2027-09-01'], PRICE);
      const tokens = await api.issueTokens(
        Array.from({ length: scale.releaseHolds + scale.edgePayments }, () => randomUUID()),
        32,
      );
      const users = tokens.map((t) => ({ userId: t.userId, token: t.token }));
      await api.waitActive(
        users.map((u) => u.token),
        120_000,
      );
      // The admitted users' entry workflows start behind the tokens' ACTIVE state: let them.
      await settle(ctx, 'the admission');
      if (only.has('release'))
        push(
          await guardedRun('release', () =>
            holdRelease(ctx, api, ds, users.slice(0, scale.releaseHolds), concert.concertId, releaseDates, holdSeconds),
          ),
          'release',
          'Hold release',
        );
      if (only.has('edge')) {
        await settle(ctx, 'the release');
        push(
          await guardedRun('payment at the edge', () =>
            paymentEdge(ctx, api, users.slice(scale.releaseHolds), concert.concertId, '2027-09-01'),
          ),
          'edge',
          'Payment at the edge',
        );
      }
    } finally {
      await stack.stop();
      env.setStackWatch([]);
      env.ctx.backlog = undefined;
      env.ctx.notices = undefined;
    }
  }

  if (ceilingDue) {
    const why = 'the cluster profile knows its Temporal server only once a stack runs: add a scenario that starts one';
    say(`Temporal ceiling not measured: ${why}`);
    push(undefined, 'ceiling-temporal', 'Ceiling: Temporal', why);
  }

  // ---- every Temporal-backed scenario as a fraction of the Temporal ceiling
  if (temporalCeil) {
    for (const r of results) {
      const kind = TEMPORAL_BACKED[r.id];
      const headline = r.rows.find((row) => row.target) ?? r.rows[0];
      if (!kind || !headline) continue;
      const ceiling = temporalCeil[kind];
      r.numbers[`fraction of the Temporal ${kind} ceiling (${ceiling}/s)`] =
        ceiling > 0 ? Math.round((headline.rate / ceiling) * 100) / 100 : null;
    }
  }
  return results;
}

async function main(): Promise<void> {
  const opts = parseArgs();
  const scale = opts.quick ? QUICK : FULL;
  const startedAt = new Date();
  const base = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  say(
    `mode ${opts.quick ? 'quick' : 'full'}, ${opts.runs} run(s), ${opts.apis} api + ${opts.workers} worker, profile ${opts.profile}; scenarios ${[...opts.only].join(', ')}`,
  );
  say('provisioning MariaDB and Redis…');
  await ensureMariaDb(base.databaseUrl);
  await ensureRedis(base.redisUrl);
  const redisPort = Number(new URL(base.redisUrl).port || 6379);

  const workDir = mkdtempSync(path.join(os.tmpdir(), 'concert-bench-'));
  const logDir = path.join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  process.env.TEST_LOG_DIR = logDir;
  if (!opts.keep) cleanups.push(['work dir', async () => rmSync(workDir, { recursive: true, force: true })]);
  const stamp = startedAt.toISOString().slice(0, 16).replace(':', '').replace('T', '-');
  const outDir = opts.quick ? path.join(os.tmpdir(), 'concert-bench-quick') : path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  say(`work dir ${workDir} (logs in ${logDir})`);

  const profile = startProfile(opts.profile, workDir, opts.storage);
  cleanups.push(['profile', () => profile.close()]);
  say('bundling the workflows once for every worker…');
  await ensureWorkflowBundle(workDir);

  const infra = (): Watched[] => infrastructurePids(redisPort);
  let stackWatch: Watched[] = [];
  const ctx: Ctx = {
    scale,
    workDir,
    outDir,
    stamp,
    say,
    watched: () => [...stackWatch, ...infra()],
    windows: [],
    ...(opts.plots ? { plotDir: path.join(outDir, 'plots') } : {}),
  };
  const databases: TestDatabase[] = [];
  cleanups.push([
    'databases',
    async () => {
      for (const db of databases) await db.drop().catch(() => undefined);
    },
  ]);
  const env: RunEnv = {
    opts,
    base,
    profile,
    ctx,
    setStackWatch: (w) => {
      stackWatch = w;
    },
    databases,
    workDir,
    profiles: [],
  };
  const perRun: ScenarioResult[][] = [];
  for (let run = 1; run <= opts.runs; run++) perRun.push(await oneRun(env, run));
  const results = aggregate(perRun);

  // ---- outputs
  const meta: RunMeta = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: opts.quick ? 'quick' : 'full',
    commit: gitCommit(),
    node: process.versions.node,
    cpus: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    topology: `profile ${opts.profile}: ${opts.apis} api + ${opts.workers} worker processes (tsx), ${
      opts.profile === 'embedded'
        ? `Temporal dev server (1 history shard) with SQLite ${
            {
              disk: 'file on disk, WAL, synchronous=NORMAL',
              'disk-fsync': 'file on disk with the dev server defaults (rollback journal, fsync per commit)',
              shm: 'file in /dev/shm (tmpfs), WAL',
              memory: 'in memory',
            }[opts.storage]
          }, MariaDB and Redis shared`
        : 'the cluster profile (scripts/cluster/profile.ts)'
    }, load from a separate process, everything on this machine; ${opts.runs} run(s), medians`,
  };
  const profileText = env.profiles.length
    ? `## CPU profiles of the api (self time, top 15 per scenario)\n\n${profileMarkdown(env.profiles)}`
    : '';
  const jsonFile = path.join(outDir, 'latest.json');
  const mdFile = path.join(outDir, 'latest.md');
  writeFileSync(
    jsonFile,
    JSON.stringify({ meta, scale, results, runs: perRun, cpuProfiles: env.profiles }, null, 2) + '\n',
  );
  writeFileSync(mdFile, markdown(meta, results, TARGETS, profileText));
  process.stdout.write(`\n${textTable(results)}\n\n`);
  if (profileText) process.stdout.write(`${profileText}\n`);
  for (const r of results) {
    if (r.error) say(`${r.title}: DID NOT RUN: ${r.error}`);
    for (const c of r.checks) if (!c.ok) say(`${r.title}: INVARIANT FAILED: ${c.name}: ${c.detail}`);
    if (r.saturation) say(`${r.title}: ${r.saturation}`);
    const best = r.numbers['highest admitPerSecond kept up with'];
    if (best !== undefined) say(`highest sustained admitPerSecond: ${JSON.stringify(best)}`);
  }
  say(`results: ${mdFile} and ${jsonFile}${opts.plots ? ` (plots in ${path.join(outDir, 'plots')})` : ''}`);
}

/**
 * Samples how many workflow and activity tasks wait on the stack's main task queue: a
 * growing backlog means the workers (not the API or Temporal) are what cannot keep up.
 */
async function taskQueueBacklog(
  address: string,
  config: Config,
): Promise<(() => Promise<Record<string, { workflow: number; activity: number }>>) & { close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  const count = async (name: string, type: 1 | 2): Promise<number> => {
    const res = await connection.workflowService.describeTaskQueue({
      namespace: config.temporalNamespace,
      taskQueue: { name },
      taskQueueType: type,
      reportStats: true,
    });
    return Number(res.stats?.approximateBacklogCount ?? 0);
  };
  // The main queue, and the queues the service may split work onto (an unused one reads 0).
  const queues = {
    main: config.taskQueue,
    reservations: `${config.taskQueue}-reservations`,
    admission: `${config.taskQueue}-admission`,
  };
  const sample = async (): Promise<Record<string, { workflow: number; activity: number }>> => {
    const out: Record<string, { workflow: number; activity: number }> = {};
    for (const [label, name] of Object.entries(queues)) {
      out[`${label} task queue`] = { workflow: await count(name, 1), activity: await count(name, 2) };
    }
    return out;
  };
  return Object.assign(sample, { close: () => connection.close() });
}

/** The apis' `workflow_notices_pending` gauges, summed (an api that does not answer counts 1). */
async function pendingNotices(urls: readonly string[]): Promise<number> {
  const counts = await Promise.all(
    urls.map(async (url) => {
      try {
        const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
        const line = /^workflow_notices_pending (\d+)/m.exec(await res.text());
        return line ? Number(line[1]) : 1;
      } catch {
        return 1;
      }
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping everything this run started…`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main()
  .then(async () => {
    await cleanupAll();
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanupAll();
    process.exit(1);
  });
