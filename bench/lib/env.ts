/**
 * The pieces the benchmark and the drills start and stop themselves: an on-disk Temporal
 * dev server (restartable), a private redis-server (restartable, empty), a workflow bundle
 * shared by every worker, and single api processes (to restart one on its port).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort, startTemporalDevServer, waitForPort } from '../../scripts/provision';
import type { Config } from '../../src/config';
import { searchAttributeFlags } from '../../src/shared/search-attributes';
import { configEnv } from '../../test/helpers/config';

export const ROOT = path.resolve(__dirname, '../..');

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
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', ms = 15_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  if (!(await waitForExit(child, ms))) {
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
  }
}

/** Bundles the workflows once and points WORKFLOW_BUNDLE_PATH at the bundle, so workers start fast. */
export async function ensureWorkflowBundle(dir: string): Promise<string> {
  if (process.env.WORKFLOW_BUNDLE_PATH) return process.env.WORKFLOW_BUNDLE_PATH;
  const quiet = (): undefined => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: console.warn, error: console.error },
  });
  const file = path.join(dir, 'workflows-bundle.js');
  writeFileSync(file, code);
  process.env.WORKFLOW_BUNDLE_PATH = file;
  return file;
}

/**
 * Where the dev server keeps its SQLite database:
 * - `disk`: a file in the work dir in WAL mode with `synchronous=NORMAL` (what survives a
 *   crash of the server process is every committed transaction; only a power cut may lose the
 *   last ones), so the restart drills mean something without an fsync per commit;
 * - `disk-fsync`: a file with the dev server's own defaults (rollback journal, an fsync per
 *   commit), which is what `temporal server start-dev --db-filename` does out of the box;
 * - `shm`: a WAL file in /dev/shm (survives a server restart, not a reboot);
 * - `memory`: nothing kept (no restart drills then).
 */
export type TemporalStorage = 'disk' | 'disk-fsync' | 'shm' | 'memory';

export const TEMPORAL_STORAGES: readonly TemporalStorage[] = ['disk', 'disk-fsync', 'shm', 'memory'];

const WAL_PRAGMAS = ['journal_mode=WAL', 'synchronous=NORMAL'];

/** A Temporal dev server keeping its state in a SQLite file, so it can be restarted mid-run. */
export class DevServer {
  child?: ChildProcess;
  private constructor(
    readonly port: number,
    readonly dbFile: string | undefined,
    readonly logFile: string,
    readonly sqlitePragmas: readonly string[] = [],
  ) {}

  static async start(dir: string, storage: TemporalStorage = 'disk'): Promise<DevServer> {
    mkdirSync(dir, { recursive: true });
    const dbDir = storage === 'shm' ? mkdtempSync('/dev/shm/concert-temporal-') : dir;
    const server = new DevServer(
      await freePort(),
      storage === 'memory' ? undefined : path.join(dbDir, 'temporal.db'),
      path.join(dir, 'temporal.log'),
      storage === 'disk' || storage === 'shm' ? WAL_PRAGMAS : [],
    );
    if (storage === 'shm') server.cleanupDir = dbDir;
    await server.up();
    return server;
  }

  private cleanupDir?: string;

  /** Stops the server for good and removes a /dev/shm copy of its data. */
  async destroy(): Promise<void> {
    await this.down();
    if (this.cleanupDir) rmSync(this.cleanupDir, { recursive: true, force: true });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async up(): Promise<void> {
    this.child = await startTemporalDevServer({
      port: this.port,
      ...(this.dbFile ? { dbFile: this.dbFile, sqlitePragmas: this.sqlitePragmas } : {}),
      logFile: this.logFile,
      searchAttributes: searchAttributeFlags,
    });
  }

  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopChild(this.child, signal, 20_000);
  }

  /** Stops the server and starts it again on the same port and file; resolves once it accepts connections. */
  async restart(signal: NodeJS.Signals = 'SIGTERM', downMs = 0): Promise<void> {
    await this.down(signal);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.up();
  }
}

/** A redis-server of our own on a free port, without persistence: a restart brings it back empty. */
export class PrivateRedis {
  child?: ChildProcess;
  private constructor(
    readonly port: number,
    readonly logFile: string,
  ) {}

  static async start(dir: string): Promise<PrivateRedis> {
    mkdirSync(dir, { recursive: true });
    const redis = new PrivateRedis(await freePort(), path.join(dir, 'redis.log'));
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async up(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(
      '/usr/bin/redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    await waitForPort('127.0.0.1', this.port, 15_000);
  }

  /** Kills the server (SIGKILL by default: nothing is saved) without starting it again. */
  async down(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await stopChild(this.child, signal, 10_000);
  }
}

/** One api process on a given port (for restarting an api of a running stack on its old port). */
export async function spawnApi(
  config: Config,
  port: number,
  name: string,
  logDir: string,
): Promise<{ child: ChildProcess; url: string }> {
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'server.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...configEnv({ ...config, port }), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} (see ${logDir}/${name}.log)`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return { child, url };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not listen within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Port of an http://127.0.0.1:<port> URL. */
export const portOf = (url: string): number => Number(new URL(url).port);
