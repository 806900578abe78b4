/**
 * Process plumbing for the cluster profile: long-running children with a log file and a pid
 * file, stopped by pid (SIGTERM, then SIGKILL after a grace period), never by name.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { aptInstall as aptGetInstall } from '../lib/shell';

/** Where the cluster profile keeps its data, generated configs, pid files and logs (outside the checkout). */
export const CLUSTER_DATA_DIR =
  process.env.CONCERT_CLUSTER_DATA_DIR ?? path.join(os.homedir(), '.local', 'share', 'concert-reservation', 'cluster');
export const LOG_DIR = path.join(CLUSTER_DATA_DIR, 'logs');
export const PID_DIR = path.join(CLUSTER_DATA_DIR, 'run');

let sink = (msg: string): void => {
  process.stdout.write(`\x1b[1m[cluster]\x1b[0m ${msg}\n`);
};

/** Progress, one line per step (stdout unless {@link setProgressSink} redirected it, e.g. tests). */
export const say = (msg: string): void => sink(msg);

/** Sends progress lines elsewhere (a test's log file) instead of stdout. */
export function setProgressSink(fn: (msg: string) => void): void {
  sink = fn;
}

export { run, which } from '../lib/shell';

/** Runs a command and returns its stdout (stderr too when it fails). */
export function capture(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...opts.env }, input: opts.input });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.status === 0 ? '' : (r.stderr ?? '')}` };
}

/**
 * `apt-get install` for the profile. Without systemd, a package's maintainer script may start its
 * service (nginx on :80, PostgreSQL); the profile starts what it needs itself, so that is forbidden.
 */
export const aptInstall = (packages: string[]): void => aptGetInstall(packages, { say, noServiceStart: true });

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process of the profile: the child this run started, or one found by its pid file. */
export interface ManagedProcess {
  name: string;
  pid: number;
  /** True when this run started it (and so stops it). */
  owned: boolean;
  logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL (a crash, for drills); resolves once it has exited. */
  kill9(): Promise<void>;
  exited(): boolean;
}

const pidFileOf = (name: string): string => path.join(PID_DIR, `${name}.pid`);

/** The pid recorded for `name` when that process still runs. */
export function runningPid(name: string): number | null {
  const file = pidFileOf(name);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return pid > 0 && isAlive(pid) ? pid : null;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await delay(100);
  }
  return !isAlive(pid);
}

function managed(name: string, pid: number, owned: boolean, logFile: string, child?: ChildProcess): ManagedProcess {
  const gone = (): boolean => (child ? child.exitCode !== null || child.signalCode !== null : !isAlive(pid));
  const waitExit = (ms: number): Promise<boolean> =>
    child
      ? gone()
        ? Promise.resolve(true)
        : new Promise((resolve) => {
            const timer = setTimeout(() => resolve(false), ms);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve(true);
            });
          })
      : waitGone(pid, ms);
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  return {
    name,
    pid,
    owned,
    logFile,
    exited: gone,
    async stop(graceMs = 20_000) {
      if (gone()) return;
      signal('SIGTERM');
      if (!(await waitExit(graceMs))) {
        signal('SIGKILL');
        await waitExit(5_000);
      }
      rmSync(pidFileOf(name), { force: true });
    },
    async kill9() {
      if (gone()) return;
      signal('SIGKILL');
      await waitExit(10_000);
    },
  };
}

/**
 * Starts `command` detached (its own process group, so a Ctrl-C in the terminal reaches only
 * the profile, which stops children in order), output appended to LOG_DIR/<name>.log and
 * the pid in PID_DIR/<name>.pid.
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ManagedProcess {
  mkdirSync(LOG_DIR, { recursive: true });
  mkdirSync(PID_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ['ignore', out, out],
  });
  if (!child.pid) throw new Error(`could not start ${name} (${command})`);
  writeFileSync(pidFileOf(name), `${child.pid}\n`);
  return managed(name, child.pid, true, logFile, child);
}

/** A handle on a process started by an earlier run that still runs (not stopped by this run's stop()). */
export function adoptProcess(name: string, pid: number): ManagedProcess {
  return managed(name, pid, false, path.join(LOG_DIR, `${name}.log`));
}

/** Rejects when `proc` exits before `ready` resolves, naming its log. */
export async function readyOrDied<T>(proc: ManagedProcess, ready: Promise<T>, what = proc.name): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const died = new Promise<never>((_, reject) => {
    const check = (): void => {
      if (proc.exited()) reject(new Error(`${what} exited during start-up (see ${proc.logFile})`));
      else timer = setTimeout(check, 200);
    };
    check();
  });
  try {
    return await Promise.race([ready, died]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` until it resolves truthy, or throws `message` after `ms`. */
export async function waitUntil(probe: () => Promise<boolean> | boolean, ms: number, message: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    await delay(250);
  }
  throw new Error(message);
}
