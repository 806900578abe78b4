/**
 * A Temporal dev server of our own (restartable, on disk or in memory) and the workflow bundle
 * every worker of a run shares: what the benchmark, the drills and the drill test start themselves.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { searchAttributeFlags } from '../../src/shared/search-attributes';
import { freePort, startTemporalDevServer } from '../provision';
import { stopChild } from './process';

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
