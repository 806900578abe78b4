/** The one percentile of the tests and the benchmark, and the samples the HTTP client records. */

/** Nearest-rank percentile `p` (0–100) of ascending `sorted` values; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Nearest-rank percentile of values in any order. */
export const percentileOf = (values: readonly number[], p: number): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    p,
  );

/**
 * One answered (or failed) request: `[startMs, latencyMs, status]`, with `startMs` measured
 * from the start of its load process and `status` 0 for a network error or timeout. A tuple
 * keeps tens of thousands of samples small in the result files.
 */
export type Sample = [startMs: number, latencyMs: number, status: number];

const round = (n: number): number => Math.round(n * 10) / 10;

/** Percentiles of plain numbers (e.g. release lateness in ms). */
export function distribution(values: readonly number[]): {
  count: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: round(sorted[0] ?? 0),
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}
