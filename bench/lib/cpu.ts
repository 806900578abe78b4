import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A process whose CPU a scenario reports. */
export interface Watched {
  name: string;
  pid: number;
}

/** CPU used during one scenario, in percent of one core (200 = both cores of a 2-core box). */
export interface CpuUse {
  name: string;
  pid: number;
  cpuPct: number;
  /** Bytes the process caused to be written to storage per second (/proc/<pid>/io write_bytes). */
  diskWriteKBs?: number;
}

export interface CpuReport {
  seconds: number;
  /** Whole machine, from /proc/stat, in percent of one core. */
  machinePct: number;
  /** Time the cores sat idle waiting for disk I/O (iowait), in percent of one core. */
  ioWaitPct: number;
  cores: number;
  /** Busiest first. */
  processes: CpuUse[];
  /** Tasks waiting for a worker, per task queue (sampled each second while the load ran). */
  backlog?: Record<string, { workflowMax: number; workflowEnd: number; activityMax: number }>;
}

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process (all its threads), in clock ticks; null once it is gone. */
export function processTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return null;
  }
}

function machineTicks(): { busy: number; iowait: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  return { busy: total - idle, iowait: n[4] ?? 0, total };
}

/** write_bytes of /proc/<pid>/io, or null when unreadable. */
function processWriteBytes(pid: number): number | null {
  try {
    const m = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Pids of running processes whose command name (/proc/<pid>/comm) is `comm`, optionally filtered by command line. */
export function findPids(comm: string, cmdlineIncludes?: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
      if (cmdlineIncludes) {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (!cmdline.includes(cmdlineIncludes)) continue;
      }
      pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The shared MariaDB and the Redis serving `redisPort`, for CPU reports. */
export function infrastructurePids(redisPort: number): Watched[] {
  const found: Watched[] = findPids('mariadbd').map((pid) => ({ name: 'mariadbd', pid }));
  for (const pid of findPids('redis-server', `:${redisPort}`)) found.push({ name: 'redis-server', pid });
  return found;
}

/** Measures how much CPU each watched process (and the whole machine) used between start() and stop(). */
export class CpuProbe {
  private before = new Map<number, number>();
  private writesBefore = new Map<number, number>();
  private machineBefore = machineTicks();
  private startedAt = Date.now();

  constructor(private readonly watched: () => Watched[]) {}

  start(): void {
    this.before.clear();
    this.writesBefore.clear();
    for (const w of this.watched()) {
      const t = processTicks(w.pid);
      if (t !== null) this.before.set(w.pid, t);
      const wb = processWriteBytes(w.pid);
      if (wb !== null) this.writesBefore.set(w.pid, wb);
    }
    this.machineBefore = machineTicks();
    this.startedAt = Date.now();
  }

  /** Adds a process that started after start() (e.g. the load process): it is counted from zero. */
  track(pid: number): void {
    if (!this.before.has(pid)) this.before.set(pid, 0);
  }

  stop(): CpuReport {
    const seconds = Math.max(0.001, (Date.now() - this.startedAt) / 1000);
    const hz = ticksPerSecond();
    const processes: CpuUse[] = [];
    for (const w of this.watched()) {
      const start = this.before.get(w.pid);
      const now = processTicks(w.pid);
      if (start === undefined || now === null) continue;
      const wb0 = this.writesBefore.get(w.pid);
      const wb1 = processWriteBytes(w.pid);
      processes.push({
        name: w.name,
        pid: w.pid,
        cpuPct: Math.round(((now - start) / hz / seconds) * 1000) / 10,
        ...(wb0 !== undefined && wb1 !== null ? { diskWriteKBs: Math.round((wb1 - wb0) / 1024 / seconds) } : {}),
      });
    }
    processes.sort((a, b) => b.cpuPct - a.cpuPct);
    const m = machineTicks();
    const dTotal = m.total - this.machineBefore.total;
    const cores = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l)).length;
    const pct = (d: number): number => (dTotal > 0 ? Math.round((d / dTotal) * cores * 1000) / 10 : 0);
    return {
      seconds: Math.round(seconds * 10) / 10,
      machinePct: pct(m.busy - this.machineBefore.busy),
      ioWaitPct: pct(m.iowait - this.machineBefore.iowait),
      cores,
      processes,
    };
  }
}

/** "api-1 92%, temporal 61%, mariadbd 20%" — the busiest few, with same-named processes listed apart. */
export function busiest(report: CpuReport, n = 4): string {
  return report.processes
    .slice(0, n)
    .map((p) => `${p.name} ${Math.round(p.cpuPct)}%`)
    .join(', ');
}

/**
 * A one-line reading of where the time went: on a box whose cores are nearly all busy the
 * run was CPU-bound and the busiest processes are what to scale; otherwise something waited
 * (locks, timers, a serial step).
 */
export function saturationNote(report: CpuReport): string {
  const capacity = report.cores * 100;
  const top = report.processes[0];
  if (!top) return 'no CPU data';
  const groups = new Map<string, number>();
  for (const p of report.processes) {
    const kind = p.name.replace(/-\d+$/, '');
    groups.set(kind, (groups.get(kind) ?? 0) + p.cpuPct);
  }
  const ranked = [...groups.entries()].sort((a, b) => b[1] - a[1]);
  const ours = report.processes.reduce((a, p) => a + p.cpuPct, 0);
  const others = Math.max(0, report.machinePct - ours);
  const share =
    ranked
      .slice(0, 4)
      .map(([k, v]) => `${k} ${Math.round(v)}%`)
      .join(', ') + (others >= 5 ? `, processes not started by the bench ${Math.round(others)}%` : '');
  const writers = report.processes
    .filter((p) => (p.diskWriteKBs ?? 0) >= 100)
    .map((p) => `${p.name} writes ${p.diskWriteKBs} KB/s`)
    .join(', ');
  const b = report.backlog;
  const io =
    (report.ioWaitPct >= 5 || writers
      ? `; iowait ${Math.round(report.ioWaitPct)}%${writers ? `, ${writers}` : ''}`
      : '') +
    Object.entries(b ?? {})
      .filter(([, q]) => q.workflowMax >= 20 || q.activityMax >= 20)
      .map(
        ([name, q]) =>
          `; workers behind on ${name}: up to ${q.workflowMax} workflow tasks (${q.workflowEnd} at the end) and ${q.activityMax} activity tasks waiting`,
      )
      .join('');
  if (report.machinePct >= capacity * 0.85)
    return `CPU-bound (machine ${Math.round(report.machinePct)}% of ${capacity}%): ${share}${io}`;
  if (top.cpuPct >= 90) return `one process near a full core: ${top.name} ${Math.round(top.cpuPct)}% (${share})${io}`;
  return `not CPU-bound (machine ${Math.round(report.machinePct)}% of ${capacity}%): waiting on disk, locks, timers or round trips${io}; ${share}`;
}
