/**
 * Child-process basics shared by the tests, the benchmark and the drills: where the repository
 * is, where service logs go, and stopping a child for sure.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '../..');

/** Where spawned api and worker processes write their logs: `TEST_LOG_DIR`, read at each call. */
export function logDir(): string {
  return process.env.TEST_LOG_DIR ?? '/tmp/concert-test-logs';
}

/** Resolves true once `child` has exited, false after `ms`. */
export function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Sends `signal`, waits for the exit, and SIGKILLs what is still there after `ms`. */
export async function stopChild(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  ms = 15_000,
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  if (!(await waitForExit(child, ms))) {
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
  }
}

/** Port of an http://127.0.0.1:<port> URL. */
export const portOf = (url: string): number => Number(new URL(url).port);
