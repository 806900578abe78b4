/**
 * Reads the `.cpuprofile` files `node --cpu-prof` writes when a process exits, and sums self
 * time per function over a time window (a scenario's load), so before/after summaries of the
 * api's hot paths can be compared (`npm run bench -- --profile-cpu`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/lib/process';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The parts of V8's profile format used here (times in microseconds). */
interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** `functionName url:line`, the url shortened to the repository or package. */
  fn: string;
  ms: number;
  /** Share of all sampled time in the window (idle and GC included), in percent. */
  pct: number;
}

export interface ProfileSummary {
  scenario: string;
  pid: number;
  /** Sampled time in the window, ms. */
  sampledMs: number;
  top: SelfTime[];
}

/** Epoch-ms window of one scenario's load. */
export interface Window {
  scenario: string;
  from: number;
  to: number;
}

function shortUrl(url: string): string {
  const plain = url.replace(/^file:\/\//, '');
  const nm = plain.lastIndexOf('/node_modules/');
  if (nm >= 0) return plain.slice(nm + '/node_modules/'.length);
  return plain.startsWith(ROOT) ? path.relative(ROOT, plain) : plain;
}

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  return url ? `${name} ${shortUrl(url)}:${lineNumber + 1}` : name;
}

/**
 * Each sample of the profile that falls in `window`, with how long it stood (µs). The profile
 * clock starts when the process does (within its start-up time, `startedAt` epoch ms), so
 * sample times are placed on the wall clock from there.
 */
function* samplesIn(profile: CpuProfile, startedAt: number, window: Window): Generator<{ nodeId: number; us: number }> {
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const next = i + 1 < profile.samples.length ? t + (profile.timeDeltas[i + 1] ?? 0) : profile.endTime;
    const wall = startedAt + (t - profile.startTime) / 1000;
    if (wall < window.from || wall > window.to) continue;
    yield { nodeId: profile.samples[i]!, us: Math.max(0, next - t) };
  }
}

/** Sums self time per function over `window` of a profile of a process started at `startedAt`. */
export function summarizeProfile(profile: CpuProfile, startedAt: number, window: Window, n = 15): SelfTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  for (const { nodeId, us } of samplesIn(profile, startedAt, window)) {
    const node = byId.get(nodeId);
    if (!node) continue;
    const key = frameName(node);
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, us]) => ({
      fn,
      ms: Math.round(us / 100) / 10,
      pct: total > 0 ? Math.round((us / total) * 1000) / 10 : 0,
    }));
}

/** Sampled time of a window, ms (for the summary's header). */
function sampledMs(profile: CpuProfile, startedAt: number, window: Window): number {
  let total = 0;
  for (const { us } of samplesIn(profile, startedAt, window)) total += us;
  return Math.round(total / 1000);
}

/**
 * Reads every profile in `dir` written by one of `apis` (the pid is in the file name:
 * `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`) and summarises each window.
 */
export function summarizeProfiles(
  dir: string,
  apis: ReadonlyArray<{ pid: number; startedAt: number }>,
  windows: readonly Window[],
  n = 15,
): ProfileSummary[] {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  const out: ProfileSummary[] = [];
  for (const api of apis) {
    const file = files.find((f) => f.split('.')[3] === String(api.pid));
    if (!file) continue;
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    for (const w of windows) {
      out.push({
        scenario: w.scenario,
        pid: api.pid,
        sampledMs: sampledMs(profile, api.startedAt, w),
        top: summarizeProfile(profile, api.startedAt, w, n),
      });
    }
  }
  return out;
}

/** The summaries as Markdown (also printed to the console). */
export function profileMarkdown(summaries: readonly ProfileSummary[]): string {
  const out: string[] = [];
  for (const s of summaries) {
    out.push(`### ${s.scenario}: api pid ${s.pid}, ${s.sampledMs} ms sampled`, '');
    out.push('| self ms | % | function |', '| ---: | ---: | --- |');
    for (const t of s.top) out.push(`| ${t.ms} | ${t.pct} | \`${t.fn}\` |`);
    out.push('');
  }
  return out.join('\n');
}
