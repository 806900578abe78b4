import { percentile } from '../../scripts/lib/stats';
import type { Sample } from '../../scripts/lib/stats';

export type { Sample } from '../../scripts/lib/stats';
export { distribution } from '../../scripts/lib/stats';

/** Throughput and latency of one operation. */
export interface Summary {
  count: number;
  /** 2xx answers. */
  ok: number;
  /** Answers by HTTP status; "0" counts network errors and timeouts. */
  byStatus: Record<string, number>;
  /** 5xx answers plus network errors: what a client sees as a failure of the service. */
  failures: number;
  /** From the first request sent to the last answer received. */
  seconds: number;
  /** `count / seconds`: answers of any status per second. */
  perSecond: number;
  /** 2xx answers per second. */
  okPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

const round = (n: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** Summarises samples; `seconds` may be given when the run had a fixed duration. */
export function summarize(samples: readonly Sample[], seconds?: number): Summary {
  const byStatus: Record<string, number> = {};
  let ok = 0;
  let failures = 0;
  let first = Infinity;
  let last = -Infinity;
  let sum = 0;
  const latencies = new Array<number>(samples.length);
  samples.forEach(([start, ms, status], i) => {
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
    if (status >= 200 && status < 300) ok++;
    if (status === 0 || status >= 500) failures++;
    first = Math.min(first, start);
    last = Math.max(last, start + ms);
    sum += ms;
    latencies[i] = ms;
  });
  latencies.sort((a, b) => a - b);
  const span = seconds ?? (samples.length ? Math.max(0.001, (last - first) / 1000) : 0);
  return {
    count: samples.length,
    ok,
    byStatus,
    failures,
    seconds: round(span, 3),
    perSecond: span > 0 ? round(samples.length / span) : 0,
    okPerSecond: span > 0 ? round(ok / span) : 0,
    p50: round(percentile(latencies, 50)),
    p95: round(percentile(latencies, 95)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies[latencies.length - 1] ?? 0),
    mean: samples.length ? round(sum / samples.length) : 0,
  };
}
