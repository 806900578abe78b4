/**
 * `npm run bench [-- --quick] [--only=ceilings,tokens,sellout,race,seatmap,charges,payments,release] [--keep]
 *   [--temporal-db=disk|disk-fsync|shm|memory]`
 *
 * Provisions MariaDB and Redis, starts an on-disk Temporal dev server of its own, a fresh
 * database, and 2 api + 2 worker processes; then runs each scenario from a separate load
 * process against both api ports (127.0.0.1 only), measures every process's CPU while it
 * runs, checks the invariants in MySQL, prints a table, and writes
 * bench/results/<stamp>.json, <stamp>.md and one latency plot (SVG) per scenario.
 * `--quick` runs every scenario for a few seconds only and writes to /tmp/concert-bench-quick instead.
 * Everything it started is stopped at the end, by pid.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureMariaDb, ensureRedis, freePort } from '../scripts/provision';
import { loadConfig } from '../src/config';
import type { Config } from '../src/config';
import { createDataSource } from '../src/db/data-source';
import { testConfig } from '../scripts/lib/config';
import { createTestDatabase } from '../scripts/lib/db';
import type { TestDatabase } from '../scripts/lib/db';
import { DevServer, TEMPORAL_STORAGES, ensureWorkflowBundle } from '../scripts/lib/dev-server';
import type { TemporalStorage } from '../scripts/lib/dev-server';
import { ROOT, stopChild } from '../scripts/lib/process';
import { createTestRedis } from '../scripts/lib/redis';
import { startStack } from '../scripts/lib/stack';
import type { Stack } from '../scripts/lib/stack';
import { CEILING_ROWS, prepareCeilingTable } from './ceiling-server';
import { ServiceApi } from './lib/api';
import { infrastructurePids } from './lib/cpu';
import type { Watched } from './lib/cpu';
import type { BenchUser } from './lib/http';
import { markdown, textTable } from './lib/report';
import type { RunMeta, ScenarioResult } from './lib/report';
import {
  FULL,
  PRICE,
  QUICK,
  admit,
  ceilings,
  chargesScenario,
  failed,
  holdRelease,
  oneSeatRace,
  paymentsScenario,
  seatMapReads,
  sellOutScenario,
  settle,
  tokenBurst,
} from './lib/scenarios';
import type { Ctx } from './lib/scenarios';

const SCENARIOS = ['ceilings', 'tokens', 'sellout', 'race', 'seatmap', 'charges', 'payments', 'release'] as const;
type ScenarioId = (typeof SCENARIOS)[number];

const BASELINE = [
  'A NestJS implementation of the same service on this box reached: tokens 1,594/s (p99 201 ms); 500 users racing',
  'for one seat 139 attempts/s (p99 3.5 s, 209 answered 500); seat map 2,897/s (p99 53 ms, stale cache); charges',
  '602/s (p99 265 ms); 50 simultaneous payments deadlocked (0/50). Targets here: tokens ≥ 1,600/s with the workflow',
  'start included (p99 < 200 ms); one-seat race ≥ 2,000 answers/s, p99 < 100 ms, never a 5xx; seat map ≥ 3,000/s',
  'with fresh data (p99 < 30 ms); charges ≥ 1,200/s (p99 < 100 ms); payments succeed at any concurrency, ≥ 300/s;',
  'an unpaid hold is free again < 1 s after heldUntil.',
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

function parseArgs(): { quick: boolean; keep: boolean; only: Set<ScenarioId>; storage: TemporalStorage } {
  const args = process.argv.slice(2);
  const onlyArg = args.find((a) => a.startsWith('--only='));
  const only = new Set<ScenarioId>(
    onlyArg ? (onlyArg.slice('--only='.length).split(',') as ScenarioId[]) : [...SCENARIOS],
  );
  for (const s of only)
    if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`);
  const storageArg = args.find((a) => a.startsWith('--temporal-db='))?.slice('--temporal-db='.length) ?? 'disk';
  if (!(TEMPORAL_STORAGES as readonly string[]).includes(storageArg))
    throw new Error(`--temporal-db must be one of ${TEMPORAL_STORAGES.join(', ')}`);
  return {
    quick: args.includes('--quick'),
    keep: args.includes('--keep'),
    only,
    storage: storageArg as TemporalStorage,
  };
}

async function startCeilingServers(
  databaseUrl: string,
  redisUrl: string,
): Promise<Array<{ child: ChildProcess; url: string }>> {
  return Promise.all(
    [1, 2].map(async (n) => {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'ceiling-server.ts')], {
        cwd: ROOT,
        env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, POOL_SIZE: '20' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const log: string[] = [];
      child.stderr?.on('data', (c: Buffer) => log.push(c.toString()));
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (c: Buffer) => {
          if (c.toString().includes('listening')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`ceiling server ${n} exited with ${code}: ${log.join('')}`)));
      });
      return { child, url: `http://127.0.0.1:${port}` };
    }),
  );
}

const DATES = ['2026-12-24', '2026-12-25', '2026-12-26'];
const datesFrom = (start: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) =>
    new Date(Date.parse(`${start}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
  );

async function main(): Promise<void> {
  const { quick, keep, only, storage } = parseArgs();
  const scale = quick ? QUICK : FULL;
  const startedAt = new Date();
  const base = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  say(`mode ${quick ? 'quick' : 'full'}; scenarios ${[...only].join(', ')}`);
  say('provisioning MariaDB and Redis…');
  await ensureMariaDb(base.databaseUrl);
  await ensureRedis(base.redisUrl);
  const redisPort = Number(new URL(base.redisUrl).port || 6379);

  const workDir = mkdtempSync(path.join(os.tmpdir(), 'concert-bench-'));
  const logDir = path.join(workDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  process.env.TEST_LOG_DIR = logDir;
  if (!keep) cleanups.push(['work dir', async () => rmSync(workDir, { recursive: true, force: true })]);
  const stamp =
    startedAt.toISOString().slice(0, 16).replace(':', '').replace('T', '-') + (storage === 'disk' ? '' : `-${storage}`);
  const outDir = quick ? path.join(os.tmpdir(), 'concert-bench-quick') : path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  say(`work dir ${workDir} (logs in ${logDir})`);

  say('bundling the workflows once for every worker…');
  await ensureWorkflowBundle(workDir);
  say(`starting a Temporal dev server (SQLite ${storage === 'memory' ? 'in memory' : `file on ${storage}`})…`);
  const temporal = await DevServer.start(path.join(workDir, 'temporal'), storage);
  cleanups.push(['Temporal dev server', () => temporal.destroy()]);
  say(`Temporal dev server on ${temporal.address} (pid ${temporal.pid}, data ${temporal.dbFile ?? 'in memory'})`);

  const infra = (): Watched[] => infrastructurePids(redisPort);
  let stackWatch: Watched[] = [];
  const ctx: Ctx = {
    scale,
    workDir,
    outDir,
    stamp,
    say,
    watched: () => [...stackWatch, ...infra()],
  };
  const results: ScenarioResult[] = [];
  const databases: TestDatabase[] = [];
  cleanups.push([
    'databases',
    async () => {
      for (const db of databases) await db.drop().catch(() => undefined);
    },
  ]);

  // ---- ceilings
  let zaddPerSecond: number | undefined;
  if (only.has('ceilings')) {
    try {
      const db = await createTestDatabase(base.databaseUrl, 2);
      databases.push(db);
      await prepareCeilingTable(db.url);
      say('starting 2 ceiling server processes…');
      const servers = await startCeilingServers(db.url, base.redisUrl);
      stackWatch = servers.map((s, i) => ({ name: `ceiling-${i + 1}`, pid: s.child.pid! }));
      try {
        const out = await ceilings(
          ctx,
          servers.map((s) => s.url),
          CEILING_ROWS,
        );
        zaddPerSecond = out[0]?.rows[0]?.summary.perSecond;
        results.push(...out);
      } finally {
        for (const s of servers) await stopChild(s.child);
        stackWatch = [];
      }
    } catch (err) {
      say(`ceilings failed: ${String(err)}`);
      results.push(failed('ceilings', 'Ceilings', err));
    }
  }

  // ---- the main stack
  const needsMain = ['tokens', 'sellout', 'race', 'seatmap', 'charges', 'payments'].some((s) =>
    only.has(s as ScenarioId),
  );
  if (needsMain) {
    const db = await createTestDatabase(base.databaseUrl, 10);
    databases.push(db);
    const id = randomUUID().slice(0, 8);
    const config: Config = testConfig({
      databaseUrl: db.url,
      temporalAddress: temporal.address,
      redisKeyPrefix: `bench:${id}:`,
      taskQueue: `bench-${id}`,
      // Nobody is admitted during the token burst; scenarios open the queue when they need ACTIVE users.
      queueMaxActive: 0,
      queueAdmitPerSecond: 0,
      activeTokenTtlSeconds: 3600,
      logLevel: 'warn',
    });
    cleanups.push(['Redis keys', () => createTestRedis(config.redisKeyPrefix, config.redisUrl).cleanup()]);
    const ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    cleanups.push(['bench DataSource', () => ds.destroy()]);
    say('starting 2 api + 2 worker processes…');
    const stack = await startStack(config, { apis: 2, workers: 2 });
    cleanups.push(['main stack', () => stack.stop()]);
    stackWatch = watchStack(stack, temporal);
    const backlogProbe = await taskQueueBacklog(temporal.address, config);
    ctx.backlog = backlogProbe;
    cleanups.push(['backlog probe', () => backlogProbe.close()]);
    const api = new ServiceApi(stack.urls, config.adminApiKey);
    say(`api ${stack.urls.join(', ')}; pids ${stackWatch.map((w) => `${w.name}=${w.pid}`).join(' ')}`);

    try {
      const concert = await api.createConcert('Bench on-sale', DATES, PRICE);
      const payDates = datesFrom('2027-01-01', Math.ceil(scale.payUsers / 50));
      const payConcert = await api.createConcert('Bench payments', payDates, PRICE);

      const userIds = Array.from({ length: scale.burstUsers }, () => randomUUID());
      const burst = await tokenBurst(ctx, stack.urls, userIds, zaddPerSecond);
      if (only.has('tokens')) results.push(burst.result);
      // Every token started a workflow whose first task may still be queued for the workers;
      // the later scenarios run once they have caught up, and the catch-up time is reported.
      const caughtUp = await settle(ctx, 'the token burst');
      if (caughtUp !== null) {
        const burstSeconds = burst.result.rows[0]?.summary.seconds ?? 0;
        Object.assign(burst.result.numbers, {
          'seconds until the workers had run every new entry workflow (after the burst)': caughtUp,
          'entries with a running workflow per second (burst + catch-up)':
            Math.round((userIds.length / (burstSeconds + caughtUp)) * 10) / 10,
        });
      }
      const ranked = [...burst.tokens.values()].sort((a, b) => a.position - b.position);
      const toUser = (t: { userId: string; token: string }): BenchUser => ({ userId: t.userId, token: t.token });
      const admitCount = scale.selloutUsers + scale.payUsers;
      const admitted = ranked.slice(0, admitCount).map(toUser);
      const waiting = ranked.slice(admitCount).map(toUser);
      const sellers = admitted.slice(0, scale.selloutUsers);
      const payers = admitted.slice(scale.selloutUsers);

      const needsActive = ['sellout', 'race', 'seatmap', 'payments'].some((s) => only.has(s as ScenarioId));
      let losers = sellers;
      if (needsActive) {
        const admission = await admit(ctx, api, admitted, admitCount);
        await settle(ctx, 'the admission');
        if (only.has('tokens')) Object.assign(burst.result.numbers, { admission });
        if (only.has('sellout')) {
          try {
            const out = await sellOutScenario(ctx, api, ds, sellers, concert.concertId, DATES[0]!);
            results.push(out.result);
            losers = out.losers;
          } catch (err) {
            say(`sell-out failed: ${String(err)}`);
            results.push(failed('sellout', 'Sell-out', err));
          }
        }
        if (only.has('race')) {
          await settle(ctx, 'the sell-out');
          await guarded('race', 'One-seat race', results, () =>
            oneSeatRace(ctx, api, losers, concert.concertId, DATES[1]!, scale.raceRounds),
          );
        }
        if (only.has('seatmap')) {
          await settle(ctx, 'the race');
          await guarded('seatmap', 'Seat map reads', results, () =>
            seatMapReads(ctx, api, losers.slice(1), losers[0]!, concert.concertId, DATES[1]!, DATES[2]!),
          );
        }
      }
      if (only.has('charges')) {
        await settle(ctx, 'the previous scenario');
        await guarded('charges', 'Charges', results, () =>
          chargesScenario(ctx, api, ds, waiting.slice(0, scale.chargeUsers)),
        );
      }
      if (only.has('payments')) {
        await settle(ctx, 'the previous scenario');
        await guarded('payments', 'Payments', results, () =>
          paymentsScenario(ctx, api, ds, payers, payConcert.concertId, payDates),
        );
      }
    } finally {
      say('stopping the main stack…');
      await stack.stop();
      stackWatch = [];
    }
  }

  // ---- hold release on a stack with short holds
  if (only.has('release')) {
    const holdSeconds = 3;
    const db = await createTestDatabase(base.databaseUrl, 10);
    databases.push(db);
    const id = randomUUID().slice(0, 8);
    const config: Config = testConfig({
      databaseUrl: db.url,
      temporalAddress: temporal.address,
      redisKeyPrefix: `bench:${id}:`,
      taskQueue: `bench-${id}`,
      seatHoldSeconds: holdSeconds,
      queueMaxActive: 10_000,
      queueAdmitPerSecond: 10_000,
      activeTokenTtlSeconds: 3600,
      logLevel: 'warn',
    });
    cleanups.push(['Redis keys (release)', () => createTestRedis(config.redisKeyPrefix, config.redisUrl).cleanup()]);
    const ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    cleanups.push(['release DataSource', () => ds.destroy()]);
    say(`starting 2 api + 2 worker processes with SEAT_HOLD_SECONDS=${holdSeconds}…`);
    const stack = await startStack(config, { apis: 2, workers: 2 });
    cleanups.push(['release stack', () => stack.stop()]);
    stackWatch = watchStack(stack, temporal);
    const backlogProbe = await taskQueueBacklog(temporal.address, config);
    ctx.backlog = backlogProbe;
    cleanups.push(['backlog probe (release)', () => backlogProbe.close()]);
    try {
      const api = new ServiceApi(stack.urls, config.adminApiKey);
      const dates = datesFrom('2027-06-01', Math.ceil(scale.releaseHolds / 50));
      const concert = await api.createConcert('Bench release', dates, PRICE);
      const tokens = await api.issueTokens(
        Array.from({ length: scale.releaseHolds }, () => randomUUID()),
        32,
      );
      const users = tokens.map((t) => ({ userId: t.userId, token: t.token }));
      await api.waitActive(
        users.map((u) => u.token),
        60_000,
      );
      await guarded('release', 'Hold release', results, () =>
        holdRelease(ctx, api, ds, users, concert.concertId, dates, holdSeconds),
      );
    } finally {
      await stack.stop();
      stackWatch = [];
    }
  }

  // ---- outputs
  const meta: RunMeta = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: quick ? 'quick' : 'full',
    commit: gitCommit(),
    node: process.versions.node,
    cpus: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    topology: `2 api + 2 worker processes (tsx), Temporal dev server (1 history shard) with SQLite ${
      {
        disk: 'file on disk, WAL, synchronous=NORMAL',
        'disk-fsync': 'file on disk with the dev server defaults (rollback journal, fsync per commit)',
        shm: 'file in /dev/shm (tmpfs), WAL',
        memory: 'in memory',
      }[storage]
    }, MariaDB and Redis shared, load from a separate process, everything on this machine`,
  };
  const jsonFile = path.join(outDir, `${stamp}.json`);
  const mdFile = path.join(outDir, `${stamp}.md`);
  writeFileSync(jsonFile, JSON.stringify({ meta, scale, results }, null, 2) + '\n');
  writeFileSync(mdFile, markdown(meta, results, BASELINE));
  process.stdout.write(`\n${textTable(results)}\n\n`);
  for (const r of results) {
    if (r.error) say(`${r.title}: DID NOT RUN: ${r.error}`);
    for (const c of r.checks) if (!c.ok) say(`${r.title}: INVARIANT FAILED: ${c.name}: ${c.detail}`);
    if (r.saturation) say(`${r.title}: ${r.saturation}`);
  }
  say(`results: ${jsonFile}, ${mdFile} and ${results.filter((r) => r.plot).length} plots in ${outDir}`);
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

function watchStack(stack: Stack, temporal: DevServer): Watched[] {
  return [
    ...stack.apis.map((p, i) => ({ name: `api-${i + 1}`, pid: p.child.pid! })),
    ...stack.workers.map((p, i) => ({ name: `worker-${i + 1}`, pid: p.child.pid! })),
    ...(temporal.pid ? [{ name: 'temporal', pid: temporal.pid }] : []),
  ];
}

async function guarded(
  id: string,
  title: string,
  results: ScenarioResult[],
  fn: () => Promise<ScenarioResult>,
): Promise<void> {
  try {
    results.push(await fn());
  } catch (err) {
    say(`${title} failed: ${err instanceof Error ? err.message : String(err)}`);
    results.push(failed(id, title, err));
  }
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
