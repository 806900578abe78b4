/**
 * `npm run drill [-- --short]`: the fault drills at full size (see scripts/lib/drills.ts), each
 * against 2 api + 2 worker processes, an on-disk Temporal dev server and, for the Redis
 * drill, a private redis-server, all started (and stopped) here. Prints every invariant and
 * writes bench/results/drill-latest.json and .md (the stamp inside) (with --short: /tmp/concert-bench-quick).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureMariaDb, ensureRedis } from '../scripts/provision';
import { loadConfig } from '../src/config';
import { testConfig } from '../scripts/lib/config';
import { DevServer, ensureWorkflowBundle } from '../scripts/lib/dev-server';
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
  await ensureWorkflowBundle(workDir);
  say('starting an on-disk Temporal dev server and a private redis-server…');
  const temporal = await DevServer.start(path.join(workDir, 'temporal'), 'disk');
  cleanups.push(() => temporal.destroy());
  const redis = await PrivateRedis.start(path.join(workDir, 'redis'));
  cleanups.push(() => redis.down());
  const base = testConfig({ temporalAddress: temporal.address, logLevel: 'warn' });

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

  say('starting 2 api + 2 worker processes…');
  const stack = await drills.startDrillStack(base, { seatHoldSeconds: size.holdSeconds });
  cleanups.push(() => stack.stop());
  await run('workers killed', () => drills.workerKillDrill(stack, size, say));
  await run('Temporal restarted', () => drills.temporalRestartDrill(stack, temporal, size, say));
  await run('api restarted', () => drills.apiRestartDrill(stack, temporal, size, say));
  await stack.stop();
  await run('Redis restarted empty', () => drills.redisRestartDrill(base, redis, size, say));

  const stamp = new Date(t0).toISOString().slice(0, 16).replace(':', '').replace('T', '-');
  const outDir = short ? path.join(os.tmpdir(), 'concert-bench-quick') : path.join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const command = `npm run drill${short ? ' -- --short' : ''}`;
  writeFileSync(path.join(outDir, `drill-latest.json`), JSON.stringify({ command, size, results }, null, 2) + '\n');
  writeFileSync(path.join(outDir, `drill-latest.md`), markdown(stamp, command, results));
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `${r.name}: ${c.name}`));
  say(failed.length ? `FAILED: ${failed.join('; ')}` : 'every drill invariant held');
  say(`results: ${path.join(outDir, `drill-latest.md`)}`);
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
