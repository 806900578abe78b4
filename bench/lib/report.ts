/** The benchmark's outputs: a console table, a JSON record and a Markdown summary. */
import type { Check } from '../../scripts/lib/checks';
import type { CpuReport } from './cpu';
import type { Summary } from './stats';

/** One line of the table: an operation of a scenario. */
export interface Row {
  scenario: string;
  op: string;
  summary: Summary;
  /** The throughput this row is judged by (answers/s or 2xx/s, see `rateOf`). */
  rate: number;
  rateOf: 'answers/s' | '2xx/s';
  target?: string;
  met?: boolean;
  /** Runs folded into this row (medians), and their spread. */
  runs?: number;
  spread?: string;
}

export type { Check } from '../../scripts/lib/checks';

export interface ScenarioResult {
  id: string;
  title: string;
  /** How the load was shaped (users, connections, durations). */
  setup: Record<string, unknown>;
  rows: Row[];
  numbers: Record<string, unknown>;
  checks: Check[];
  cpu?: CpuReport;
  saturation?: string;
  /** SVG file name, next to the results. */
  plot?: string;
  /** Set when the scenario could not run (e.g. a route not there yet). */
  error?: string;
}

export interface RunMeta {
  startedAt: string;
  finishedAt: string;
  command: string;
  mode: 'full' | 'quick';
  commit: string;
  node: string;
  cpus: string;
  cores: number;
  memoryGb: number;
  topology: string;
}

const pad = (s: string, n: number, right = false): string => (right ? s.padStart(n) : s.padEnd(n));
const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

const COLUMNS = [
  'scenario',
  'operation',
  'requests',
  '2xx',
  '5xx/err',
  'rate/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'max ms',
  'target',
  'met',
  'runs',
  'spread (min–max)',
];

function cells(r: Row): string[] {
  const s = r.summary;
  return [
    r.scenario,
    r.op,
    String(s.count),
    String(s.ok),
    String(s.failures),
    `${fmt(r.rate)}${r.rateOf === '2xx/s' ? ' ok' : ''}`,
    fmt(s.p50),
    fmt(s.p95),
    fmt(s.p99),
    fmt(s.max),
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
    String(r.runs ?? 1),
    r.spread ?? '',
  ];
}

/** A fixed-width table for the console. */
export function textTable(results: readonly ScenarioResult[]): string {
  const rows = results.flatMap((r) => r.rows).map(cells);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const numeric = (i: number): boolean => i >= 2 && i <= 9;
  const line = (row: string[]): string => row.map((c, i) => pad(c, widths[i]!, numeric(i))).join('  ');
  return [line(COLUMNS), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function mdTable(results: readonly ScenarioResult[]): string {
  const rows = results.flatMap((r) => r.rows).map(cells);
  return [
    `| ${COLUMNS.join(' | ')} |`,
    `| ${COLUMNS.map((_, i) => (i >= 2 && i <= 9 ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** The Markdown summary committed next to the JSON. */
export function markdown(meta: RunMeta, results: readonly ScenarioResult[], baseline: string, appendix = ''): string {
  const out: string[] = [];
  out.push(`# Benchmark ${meta.startedAt.slice(0, 16).replace('T', ' ')} UTC (${meta.mode})`, '');
  out.push(
    `\`${meta.command}\` on ${meta.cores} cores (${meta.cpus}), ${meta.memoryGb} GB, Node ${meta.node}, commit \`${meta.commit}\`.`,
    `Topology: ${meta.topology}.`,
    '',
    'Rates are answers per second over the whole phase (first request sent to last answer), unless marked `ok`',
    '(2xx per second). Latencies are client-side, per request. Each scenario ran from its own load process.',
    'With several runs, each cell is the median over the runs, `spread` the min–max of rate and p99, a target',
    'is met when it was met in most runs, and an invariant holds only if it held in every run.',
    '',
  );
  out.push(mdTable(results), '');
  out.push('## Targets', '', baseline, '');
  for (const r of results) {
    out.push(`## ${r.title}`, '');
    if (r.error) out.push(`**Did not run:** ${r.error}`, '');
    out.push(
      `Setup: ${Object.entries(r.setup)
        .map(([k, v]) => `${k} ${show(v)}`)
        .join(', ')}.`,
    );
    out.push('');
    const numbers = Object.entries(r.numbers);
    if (numbers.length) {
      for (const [k, v] of numbers) out.push(`- ${k}: ${show(v)}`);
      out.push('');
    }
    if (r.checks.length) {
      out.push('Invariants:', '');
      for (const c of r.checks) out.push(`- ${c.ok ? 'OK' : '**FAILED**'} ${c.name}: ${c.detail}`);
      out.push('');
    }
    if (r.cpu) {
      out.push(
        `CPU (% of one core, ${r.cpu.seconds} s): machine ${r.cpu.machinePct}% of ${r.cpu.cores * 100}% ` +
          `(iowait ${r.cpu.ioWaitPct}%); ` +
          r.cpu.processes
            .map((p) => `${p.name} ${p.cpuPct}%${p.diskWriteKBs ? ` (writes ${p.diskWriteKBs} KB/s)` : ''}`)
            .join(', ') +
          '.',
      );
      if (r.saturation) out.push('', `Saturation: ${r.saturation}.`);
      out.push('');
    }
    if (r.plot) out.push(`![latency over time](${r.plot})`, '');
  }
  if (appendix) out.push(appendix, '');
  return out.join('\n') + '\n';
}
