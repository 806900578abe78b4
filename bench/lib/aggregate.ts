/**
 * Folds the results of several runs of the same scenarios into one: per table row the median
 * rate and latencies with their spread (min–max over the runs), a target met when it was met
 * in most runs, and invariants that held only if they held in every run.
 */
import type { Check, Row, ScenarioResult } from './report';

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round(((sorted[mid - 1]! + sorted[mid]!) / 2) * 10) / 10;
};

const span = (values: readonly number[]): string => {
  if (values.length < 2) return '';
  const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
  return `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;
};

function foldRow(rows: readonly Row[]): Row {
  const first = rows[0]!;
  if (rows.length === 1) return { ...first, runs: 1 };
  const pick = (f: (r: Row) => number): number => median(rows.map(f));
  const rates = rows.map((r) => r.rate);
  const p99s = rows.map((r) => r.summary.p99);
  const mets = rows.filter((r) => r.met !== undefined);
  return {
    ...first,
    rate: pick((r) => r.rate),
    summary: {
      ...first.summary,
      count: pick((r) => r.summary.count),
      ok: pick((r) => r.summary.ok),
      failures: pick((r) => r.summary.failures),
      p50: pick((r) => r.summary.p50),
      p95: pick((r) => r.summary.p95),
      p99: pick((r) => r.summary.p99),
      max: pick((r) => r.summary.max),
    },
    met: mets.length ? mets.filter((r) => r.met).length * 2 > mets.length : undefined,
    runs: rows.length,
    spread: `rate ${span(rates)}; p99 ${span(p99s)}`,
  };
}

function foldChecks(runs: readonly ScenarioResult[]): Check[] {
  const names = [...new Set(runs.flatMap((r) => r.checks.map((c) => c.name)))];
  return names.map((name) => {
    const all = runs.flatMap((r) => r.checks.filter((c) => c.name === name));
    const bad = all.find((c) => !c.ok);
    return {
      name,
      ok: !bad,
      detail: bad
        ? `failed in ${all.filter((c) => !c.ok).length} of ${all.length} runs: ${bad.detail}`
        : all[0]!.detail,
    };
  });
}

/** One result per scenario id, in the order of the first run. */
export function aggregate(runs: readonly ScenarioResult[][]): ScenarioResult[] {
  if (runs.length === 1) return runs[0]!;
  const ids = [...new Set(runs.flatMap((r) => r.map((s) => s.id)))];
  return ids.map((id) => {
    const each = runs.flatMap((r) => r.filter((s) => s.id === id));
    const ran = each.filter((s) => !s.error);
    if (ran.length === 0) return each[0]!;
    // The run whose headline rate is the median one gives the numbers, CPU and saturation.
    const headline = (s: ScenarioResult): number => s.rows.find((r) => r.target)?.rate ?? s.rows[0]?.rate ?? 0;
    const byRate = [...ran].sort((a, b) => headline(a) - headline(b));
    const mid = byRate[Math.floor((byRate.length - 1) / 2)]!;
    const rowCount = Math.max(...ran.map((s) => s.rows.length));
    const rows = Array.from({ length: rowCount }, (_, i) =>
      foldRow(ran.flatMap((s) => (s.rows[i] ? [s.rows[i]] : []))),
    );
    return {
      ...mid,
      rows,
      checks: foldChecks(ran),
      numbers: {
        ...mid.numbers,
        runs: each.length,
        ...(each.length > ran.length ? { 'runs that failed': each.filter((s) => s.error).map((s) => s.error) } : {}),
        'headline rate per run': ran.map(headline),
      },
    };
  });
}
