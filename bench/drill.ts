/**
 * `npm run drill [-- --short] [--profile=embedded|cluster]`: the fault drills at full size (see
 * scripts/lib/drills.ts), each against 2 api + 2 worker processes, an on-disk Temporal dev
 * server and, for the Redis drill, a private redis-server, all started (and stopped) here.
 * Prints every invariant and writes bench/results/drill-latest.json and .md (the stamp inside)
 * (with --short: /tmp/concert-bench-quick).
 *
 * `--profile=cluster`: the drills of scripts/lib/cluster-drills.ts against the cluster profile's
 * infrastructure (started, or reused when `npm run start:cluster` runs): kill -9 the Temporal
 * history service mid sell-out, kill -9 one Redis Cluster master; results in
 * bench/results/drill-cluster-latest.*.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureMariaDb, ensureRedis } from '../scripts/provision';
import { loadConfig } from '../src/config';
import { testConfig } from '../scripts/lib/config';
import { DevServer, ensureWorkflowBundle } from '../scripts/lib/dev-server';
import { startClusterInfra } from '../scripts/cluster/profile';
import { setProgressSink } from '../scripts/cluster/proc';
import { historyKillDrill, redisMasterKillDrill } from '../scripts/lib/cluster-drills';
import * as drills from '../scripts/lib/drills';
import type { DrillResult } from '../scripts/lib/drills';
import { ROOT } from '../scripts/lib/process';
import { PrivateRedis } from '../scripts/lib/redis';

const t0 = Date.now();
const say = (msg: string): void => {
  process.stdout.write(`[drill ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
};

const cleanups: Array<() => Promise<void>> = [];
async function cleanupAll(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch((err: unknown) => say(`cleanup failed: ${String(err)}`));
}

function markdown(stamp: string, command: string, results: DrillResult[]): string {
  const out = [`# Fault drills ${stamp}`, '', `\`${command}\``, ''];
  for (const r of results) {
    const ok = r.checks.every((c) => c.ok);
    out.push(`## ${ok ? 'PASSED' : 'FAILED'}: ${r.name}`, '');
    for (const c of r.checks) out.push(`- ${c.ok ? 'OK' : '**FAILED**'} ${c.name}: ${c.detail}`);
    out.push('');
    for (const [k, v] of Object.entries(r.numbers))
      out.push(`- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    if (r.findings.length) out.push('', 'Findings:', '', ...r.findings.map((f) => `- ${f}`));
    out.push('');
  }
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  const short = process.argv.includes('--short');
  const base0 = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  say('provisioning MariaDB and Redis…');
  await ensureMariaDb(base0.databaseUrl);
  await ensureRedis(base0.redisUrl);
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'concert-drill-'));
  process.env.TEST_LOG_DIR = path.join(workDir, 'logs');
  cleanups.push(async () => rmSync(workDir, { recursive: true, force: true }));
  const size = short ? drills.SHORT : drills.FULL_DRILL;
  const profile = (process.argv.find((a) => a.startsWith('--profile='))?.split('=')[1] ?? 'embedded') as
    | 'embedded'
    | 'cluster';
  if (profile !== 'embedded' && profile !== 'cluster') throw new Error(`unknown --profile=${String(profile)}`);
  await ensureWorkflowBundle(workDir);

  const results: DrillResult[] = [];
  const run = async (name: string, fn: () => Promise<DrillResult>): Promise<void> => {
    say(`── ${name}`);
    try {
      const r = await fn();
      results.push(r);
      for (const c of r.checks) say(`  ${c.ok ? 'ok    ' : 'FAILED'} ${c.name}: ${c.detail}`);
      for (const f of r.findings) say(`  finding: ${f}`);
    } catch (err) {
      say(`  FAILED to run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      results.push({
        name,
        checks: [{ name: 'drill ran', ok: false, detail: String(err) }],
        numbers: {},
        findings: [],
      });
    }
  };

  if (profile === 'cluster') {
    say('the cluster profile: PostgreSQL, the Temporal services, the Redis Cluster (reused when running)…');
    setProgressSink((msg) => say(`  ${msg}`));
    const infra = await startClusterInfra({ uiPort: false });
    cleanups.push(() => infra.stop());
    const base = testConfig({
      temporalAddress: infra.temporalAddress,
      redisUrl: `redis://${infra.redisNodes[0] ?? '127.0.0.1:7000'}`,
      redisClusterNodes: infra.redisNodes,
      logLevel: 'warn',
    });
    say('starting 2 api + 2 worker processes against the cluster…');
    const stack = await drills.startDrillStack(base, { seatHoldSeconds: size.holdSeconds });
    cleanups.push(() => stack.stop());
    await run('history service killed', () => historyKillDrill(stack, infra.temporal, size, say));
    await run('Redis master killed', () => redisMasterKillDrill(stack, infra.redis, say));
  } else {
    say('starting an on-disk Temporal dev server and a private redis-server…');
    const temporal = await DevServer.start(path.join(workDir, 'temporal'), 'disk');
    cleanups.push(() => temporal.destroy());
    const redis = await PrivateRedis.start(path.join(workDir, 'redis'));
    cleanups.push(() => redis.down());
    const base = testConfig({ temporalAddress: temporal.address, logLevel: 'warn' });
    say('starting 2 api + 2 worker processes…');
    const stack = await drills.startDrillStack(base, { seatHoldSeconds: size.holdSeconds });
    cleanups.push(() => stack.stop());
    await run('workers killed', () => drills.workerKillDrill(stack, size, say));
    await run('Temporal restarted', () => drills.temporalRestartDrill(stack, temporal, size, say));
    await run('api restarted', () => drills.apiRestartDrill(stack, temporal, size, say));
    await stack.stop();
    await run('Redis restarted empty', () => drills.redisRestartDrill(base, redis, size, say));
  }

  const stamp = new Date(t0).toISOString().slice(0, 16).replace(':', '').replace('T', '-');
  const outDir = short ? path.join(os.tmpdir(), 'concert-bench-quick') : path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const command = `npm run drill${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const file = profile === 'cluster' ? 'drill-cluster-latest' : 'drill-latest';
  writeFileSync(path.join(outDir, `${file}.json`), JSON.stringify({ command, size, results }, null, 2) + '\n');
  writeFileSync(path.join(outDir, `${file}.md`), markdown(stamp, command, results));
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `${r.name}: ${c.name}`));
  say(failed.length ? `FAILED: ${failed.join('; ')}` : 'every drill invariant held');
  say(`results: ${path.join(outDir, `${file}.md`)}`);
  process.exitCode = failed.length ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping everything this run started…`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main()
  .catch((err: unknown) => {
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanupAll();
    process.exit(process.exitCode ?? 0);
  });
