/**
 * CPU cost per operation from a benchmark report (bench/results/*.md), for docs/scaling.md:
 * `node --import tsx scripts/cluster/cost.ts bench/results/cluster-latest.md`.
 *
 * Each scenario's section carries the CPU each sampled process used over the scenario's
 * window ("CPU (% of one core, S s): …; name P%, …") and its table rows the request counts;
 * CPU-ms per operation = P × S × 10 / operations, summed per component (api, worker, each
 * Temporal service or the dev server, PostgreSQL, MariaDB, Redis). Only the processes the
 * bench started or watches are counted (not the load generator, not other users of the box).
 *
 * `--idle=SECONDS`: the CPU the running cluster infrastructure (Temporal services, Redis
 * nodes, PostgreSQL) uses with no load at all, the baseline every per-operation figure of a
 * low-rate scenario includes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findPids, processTicks } from '../../bench/lib/cpu';
import { PID_DIR, isAlive } from './proc';

/** Which table rows count as the scenario's operations, and what one operation is. */
interface Scenario {
  section: RegExp;
  /** Table rows (scenario column, operation column) whose `count` (requests or 2xx) is summed. */
  rows: Array<{ scenario: RegExp; op: RegExp; count: 'requests' | '2xx' }>;
  unit: string;
}

const SCENARIOS: Scenario[] = [
  {
    section: /^Token burst/,
    rows: [{ scenario: /^token burst$/, op: /tokens/, count: 'requests' }],
    unit: 'token (POST /v1/queue/tokens)',
  },
  {
    section: /^Sell-out/,
    rows: [{ scenario: /^sell-out$/, op: /reservations \(race\)/, count: 'requests' }],
    unit: 'sell-out hold attempt (1000 users on 50 seats, with the seat reads, charges and payments of the phase)',
  },
  {
    section: /^One-seat race/,
    rows: [{ scenario: /^one-seat race$/, op: /one seat/, count: 'requests' }],
    unit: 'hold attempt on a taken seat (mostly 409)',
  },
  {
    section: /^Seat map/,
    rows: [{ scenario: /^seat ?map$/, op: /GET seats/, count: 'requests' }],
    unit: 'seat-map read',
  },
  {
    section: /^Charges/,
    rows: [{ scenario: /^charges$/, op: /charge/, count: 'requests' }],
    unit: 'charge',
  },
  {
    section: /^Payments: 50 at once/,
    rows: [{ scenario: /^payments50$/, op: /payments/, count: '2xx' }],
    unit: 'hold + payment (50 users)',
  },
  {
    section: /^Payments: 500 at once/,
    rows: [{ scenario: /^payments$/, op: /payments/, count: '2xx' }],
    unit: 'hold + payment (500 users)',
  },
  {
    section: /^Hold release/,
    rows: [{ scenario: /^hold release$/, op: /setup/, count: '2xx' }],
    unit: 'hold that lapses and is released (window includes failed attempts and the wait)',
  },
];

/** The component a sampled process belongs to. */
function componentOf(name: string): string | null {
  if (/^api-\d+$/.test(name)) return 'api';
  if (/^worker-\d+$/.test(name)) return 'worker';
  if (name === 'temporal') return 'Temporal (dev server)';
  if (name.startsWith('temporal-')) return `Temporal ${name.slice('temporal-'.length)}`;
  if (name === 'postgres') return 'PostgreSQL';
  if (name === 'mariadbd') return 'MariaDB';
  if (name === 'redis-server' || /^redis-\d+$/.test(name)) return 'Redis';
  return null;
}

interface Row {
  scenario: string;
  op: string;
  requests: number;
  ok: number;
}

function parse(md: string): { rows: Row[]; cpu: Map<string, { seconds: number; pct: Map<string, number> }> } {
  const rows: Row[] = [];
  for (const line of md.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // | scenario | operation | requests | 2xx | …
    if (cells.length > 5 && /^\d+$/.test(cells[3] ?? '') && /^\d+$/.test(cells[4] ?? ''))
      rows.push({ scenario: cells[1]!, op: cells[2]!, requests: Number(cells[3]), ok: Number(cells[4]) });
  }
  const cpu = new Map<string, { seconds: number; pct: Map<string, number> }>();
  let section = '';
  for (const line of md.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    const m = /^CPU \(% of one core, ([\d.]+) s\): [^;]*; (.*)$/.exec(line);
    if (!m || !section) continue;
    const pct = new Map<string, number>();
    for (const part of m[2]!.split(/, (?=[\w-]+ [\d.]+%)/)) {
      const p = /^([\w-]+) ([\d.]+)%/.exec(part.trim());
      if (!p) continue;
      const component = componentOf(p[1]!);
      if (component) pct.set(component, (pct.get(component) ?? 0) + Number(p[2]));
    }
    cpu.set(section, { seconds: Number(m[1]), pct });
  }
  return { rows, cpu };
}

async function idle(seconds: number): Promise<void> {
  const procs: Array<{ component: string; pid: number }> = [];
  for (const file of readdirSync(PID_DIR)) {
    const name = file.replace(/\.pid$/, '');
    const component = componentOf(name);
    const pid = Number(readFileSync(path.join(PID_DIR, file), 'utf8').trim());
    if (component && pid > 0 && isAlive(pid)) procs.push({ component, pid });
  }
  for (const pid of findPids('postgres')) procs.push({ component: 'PostgreSQL', pid });
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const before = procs.map((p) => processTicks(p.pid) ?? 0);
  await delay(seconds * 1000);
  const pct = new Map<string, number>();
  procs.forEach((p, i) => {
    const used = ((processTicks(p.pid) ?? before[i]!) - before[i]!) / ticks;
    pct.set(p.component, (pct.get(p.component) ?? 0) + (used / seconds) * 100);
  });
  process.stdout.write(
    `Idle CPU over ${seconds} s (% of one core): ${[...pct].map(([c, v]) => `${c} ${v.toFixed(1)}%`).join(', ')}\n`,
  );
}

async function main(): Promise<void> {
  const idleArg = process.argv.find((a) => a.startsWith('--idle='));
  if (idleArg) return idle(Number(idleArg.split('=')[1]));
  const file = process.argv[2];
  if (!file) throw new Error('usage: node --import tsx scripts/cluster/cost.ts bench/results/<report>.md');
  const { rows, cpu } = parse(readFileSync(file, 'utf8'));
  const lines: string[] = [];
  const components = new Set<string>();
  const found: Array<{ unit: string; ops: number; seconds: number; pct: Map<string, number> }> = [];
  for (const s of SCENARIOS) {
    const entry = [...cpu.entries()].find(([title]) => s.section.test(title));
    if (!entry) continue;
    const ops = rows
      .filter((r) => s.rows.some((want) => want.scenario.test(r.scenario) && want.op.test(r.op)))
      .reduce((sum, r) => sum + (s.rows[0]!.count === '2xx' ? r.ok : r.requests), 0);
    if (ops === 0) continue;
    for (const c of entry[1].pct.keys()) components.add(c);
    found.push({ unit: s.unit, ops, ...entry[1] });
  }
  const order = [...components].sort();
  lines.push(`CPU-ms per operation from ${file} (CPU% × seconds × 10 / operations)`, '');
  lines.push(`| operation | ops | window s | ${order.join(' | ')} | total |`);
  lines.push(`| --- | ---: | ---: | ${order.map(() => '---:').join(' | ')} | ---: |`);
  for (const f of found) {
    const per = order.map((c) => ((f.pct.get(c) ?? 0) * f.seconds * 10) / f.ops);
    const total = per.reduce((a, b) => a + b, 0);
    const fmt = (v: number): string => (v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));
    lines.push(`| ${f.unit} | ${f.ops} | ${f.seconds} | ${per.map(fmt).join(' | ')} | ${fmt(total)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
