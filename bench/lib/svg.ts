import { percentile } from '../../scripts/lib/stats';
import type { Sample } from './stats';

/** One operation to draw: its samples become dots, its per-bucket p99 a line. */
export interface PlotSeries {
  name: string;
  samples: readonly Sample[];
}

const WIDTH = 1040;
const HEIGHT = 420;
const M = { left: 86, right: 260, top: 36, bottom: 44 };
const PALETTE = ['#1f77b4', '#9467bd', '#17becf', '#8c564b', '#e377c2', '#7f7f7f'];
const MAX_DOTS = 2500;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function statusColour(status: number, base: string): string {
  if (status === 0 || status >= 500) return '#d62728';
  if (status >= 400) return '#ff7f0e';
  return base;
}

/**
 * Latency over time as an SVG scatter plot (log-scaled latency, time since the start of the
 * load), with the p99 of each time bucket drawn as a line per series. Refusals (4xx) are
 * orange and failures (5xx, network errors) red, so a burst of errors is visible at a glance.
 */
export function latencyPlot(
  title: string,
  series: readonly PlotSeries[],
  opts: { xLabel?: string; yLabel?: string } = {},
): string {
  const all = series.flatMap((s) => s.samples);
  const plotW = WIDTH - M.left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const t0 = all.reduce((min, [t]) => Math.min(min, t), Infinity);
  const tEnd = all.reduce((max, [t, ms]) => Math.max(max, opts.xLabel ? t : t + ms), -Infinity);
  const spanMs = Number.isFinite(t0) ? Math.max(1, tEnd - t0) : 1;
  const maxLat = Math.max(10, ...all.map(([, ms]) => ms));
  const yTop = 10 ** Math.ceil(Math.log10(maxLat));
  const yBottom = 0.1;
  const x = (t: number): number => M.left + ((t - t0) / spanMs) * plotW;
  const y = (ms: number): number =>
    M.top + plotH - (Math.log10(Math.max(yBottom, ms) / yBottom) / Math.log10(yTop / yBottom)) * plotH;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${M.left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  );
  for (let decade = yBottom; decade <= yTop + 1e-9; decade *= 10) {
    const yy = y(decade).toFixed(1);
    parts.push(
      `<line x1="${M.left}" x2="${M.left + plotW}" y1="${yy}" y2="${yy}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${decade >= 1 ? decade.toFixed(0) : decade.toFixed(1)} ms</text>`,
    );
  }
  const stepS = niceStep(spanMs / 1000 / 8);
  for (let s = 0; s <= spanMs / 1000 + 1e-9; s += stepS) {
    const xx = x(t0 + s * 1000).toFixed(1);
    parts.push(
      `<line x1="${xx}" x2="${xx}" y1="${M.top}" y2="${M.top + plotH}" stroke="#f3f3f3"/>`,
      `<text x="${xx}" y="${M.top + plotH + 16}" text-anchor="middle">${Number(s.toFixed(2))} s</text>`,
    );
  }
  parts.push(
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="${M.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">${esc(opts.xLabel ?? 'time since the load started (request start)')}</text>`,
    `<text x="14" y="${M.top + plotH / 2}" transform="rotate(-90 14 ${M.top + plotH / 2})" dominant-baseline="middle" text-anchor="middle">${esc(opts.yLabel ?? 'latency (log scale)')}</text>`,
  );

  const buckets = 60;
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const stride = Math.max(1, Math.ceil(s.samples.length / MAX_DOTS));
    for (let k = 0; k < s.samples.length; k += stride) {
      const [t, ms, status] = s.samples[k]!;
      parts.push(
        `<circle cx="${x(t).toFixed(0)}" cy="${y(ms).toFixed(0)}" r="1.6" fill="${statusColour(status, colour)}" fill-opacity="0.45"/>`,
      );
    }
    const byBucket = new Map<number, number[]>();
    for (const [t, ms] of s.samples) {
      const b = Math.min(buckets - 1, Math.floor(((t - t0) / spanMs) * buckets));
      const list = byBucket.get(b) ?? [];
      list.push(ms);
      byBucket.set(b, list);
    }
    const points = [...byBucket.entries()]
      .sort(([a], [b]) => a - b)
      .map(([b, list]) => {
        const p99 = percentile(
          list.sort((p, q) => p - q),
          99,
        );
        return `${x(t0 + ((b + 0.5) / buckets) * spanMs).toFixed(1)},${y(p99).toFixed(1)}`;
      });
    if (points.length > 1)
      parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    const ly = M.top + 14 + i * 18;
    parts.push(
      `<rect x="${M.left + plotW + 12}" y="${ly - 8}" width="10" height="10" fill="${colour}"/>`,
      `<text x="${M.left + plotW + 28}" y="${ly}">${esc(s.name.length > 34 ? `${s.name.slice(0, 33)}…` : s.name)} (${s.samples.length})</text>`,
    );
  });
  const ly = M.top + 14 + series.length * 18 + 10;
  parts.push(
    `<text x="${M.left + plotW + 12}" y="${ly}">line: p99 per time slice</text>`,
    `<circle cx="${M.left + plotW + 17}" cy="${ly + 14}" r="4" fill="#ff7f0e"/><text x="${M.left + plotW + 28}" y="${ly + 18}">4xx answer</text>`,
    `<circle cx="${M.left + plotW + 17}" cy="${ly + 32}" r="4" fill="#d62728"/><text x="${M.left + plotW + 28}" y="${ly + 36}">5xx / network error</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

function niceStep(raw: number): number {
  if (raw <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}
