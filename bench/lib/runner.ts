/** Runs one scenario's load in its own process (bench/load.ts) while measuring every process's CPU. */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadJob, LoadResult } from '../load';
import { CpuProbe } from './cpu';
import type { CpuReport, Watched } from './cpu';
import { ROOT } from '../../scripts/lib/process';

export interface LoadRun {
  result: LoadResult;
  cpu: CpuReport;
}

/**
 * Spawns the load process for `job`, forwards its progress lines, and measures CPU from the
 * moment it starts sending (after its own start-up) until it exits. `during` runs alongside
 * (e.g. polling MySQL) and is awaited before the CPU window closes.
 */
export async function runLoad(
  name: string,
  job: LoadJob,
  opts: {
    /** Workflow and activity tasks waiting on the main task queue, when the run has a stack. */
    backlog?: () => Promise<Record<string, { workflow: number; activity: number }>>;
    workDir: string;
    watched: () => Watched[];
    say: (msg: string) => void;
    during?: (stop: () => boolean) => Promise<void>;
    /** Receives this load's epoch-ms window (from its start signal to its exit), for CPU profiles. */
    windows?: Array<{ scenario: string; from: number; to: number }>;
  },
): Promise<LoadRun> {
  const jobFile = path.join(opts.workDir, `${name}.job.json`);
  const outFile = path.join(opts.workDir, `${name}.result.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'load.ts'), jobFile, outFile], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const loadPid = child.pid!;
  const probe = new CpuProbe(opts.watched);
  probe.start();
  let loadStartedAt = Date.now();
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  let buffered = '';
  child.stdout?.on('data', (c: Buffer) => {
    buffered += c.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      // The load process announces when its own start-up is over and the load begins.
      if (line === '@start') {
        probe.start();
        loadStartedAt = Date.now();
      } else if (line.trim()) opts.say(line);
    }
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const during = opts.during ? opts.during(() => exited) : Promise.resolve();
  const backlog: NonNullable<CpuReport['backlog']> = {};
  const sampling = opts.backlog
    ? (async () => {
        while (!exited) {
          try {
            for (const [queue, b] of Object.entries(await opts.backlog!())) {
              const q = (backlog[queue] ??= { workflowMax: 0, workflowEnd: 0, activityMax: 0 });
              q.workflowMax = Math.max(q.workflowMax, b.workflow);
              q.activityMax = Math.max(q.activityMax, b.activity);
              q.workflowEnd = b.workflow;
            }
          } catch {
            // a sample missed (e.g. Temporal busy) is just a gap
          }
          await new Promise((r) => setTimeout(r, 1_000));
        }
      })()
    : Promise.resolve();
  const code = await exit;
  opts.windows?.push({ scenario: name, from: loadStartedAt, to: Date.now() });
  await during;
  await sampling;
  const cpu = probe.stop();
  if (opts.backlog) cpu.backlog = backlog;
  if (code !== 0)
    throw new Error(`load process for ${name} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const result = JSON.parse(readFileSync(outFile, 'utf8')) as LoadResult;
  // The load process has exited by now, so /proc no longer has it: it reports its own CPU.
  cpu.processes.push({ name: 'load', pid: loadPid, cpuPct: Math.round((result.cpuMs / cpu.seconds / 10) * 10) / 10 });
  cpu.processes.sort((a, b) => b.cpuPct - a.cpuPct);
  return { result, cpu };
}
