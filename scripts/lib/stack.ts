import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config';
import { freePort } from '../provision';
import { configEnv } from './config';
import { logDir, ROOT, waitForExit } from './process';
import { sleep } from './wait';

export interface StackProcess {
  name: string;
  child: ChildProcess;
  /** For api processes: http://127.0.0.1:<port> */
  url?: string;
}

/** Several api and worker processes of the real service, as separate OS processes. */
export interface Stack {
  apis: StackProcess[];
  workers: StackProcess[];
  urls: string[];
  /** Starts one more worker (e.g. after killing the others). */
  addWorker(): Promise<StackProcess>;
  /** Sends `signal` to one process and waits until it has exited. */
  kill(proc: StackProcess, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/** Extra settings of a stack's processes. */
export interface StackOptions {
  apis?: number;
  workers?: number;
  /** Environment for every process, winning over `config` (e.g. AUTH_JWT_SECRET). */
  env?: Record<string, string>;
  /** Node flags for the api processes only (e.g. `--cpu-prof`). */
  apiNodeArgs?: string[];
}

function spawnService(
  kind: 'api' | 'worker',
  name: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): ChildProcess {
  mkdirSync(logDir(), { recursive: true });
  const log = createWriteStream(path.join(logDir(), `${name}.log`), { flags: 'a' });
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'src', kind === 'api' ? 'server.ts' : 'worker.ts')],
    {
      cwd: ROOT,
      // info level: readiness is read from the "worker running" line; logs go to TEST_LOG_DIR.
      env: { ...process.env, ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, ms: number, name: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${name} did not report ready within ${ms} ms (see ${logDir()}/${name}.log)`)),
      ms,
    );
    const onData = (chunk: Buffer): void => {
      seen = (seen + chunk.toString()).slice(-4096);
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready (see ${logDir()}/${name}.log)`));
    });
  });
}

async function waitForReady(url: string, child: ChildProcess, ms: number, name: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} (see ${logDir()}/${name}.log)`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready within ${ms} ms (see ${logDir()}/${name}.log)`);
}

/**
 * Starts `apis` API processes and `workers` worker processes against the shared services
 * with `config` (the database must be migrated). Resolves once every API answers /readyz
 * 200 and every worker polls its task queue.
 */
export async function startStack(
  config: Config,
  { apis = 2, workers = 2, env = {}, apiNodeArgs = [] }: StackOptions = {},
): Promise<Stack> {
  const tag = config.taskQueue;
  const stack: Stack = {
    apis: [],
    workers: [],
    urls: [],
    async addWorker() {
      const name = `${tag}-worker-${stack.workers.length + 1}`;
      const child = spawnService('worker', name, { ...configEnv(config), ...env });
      const proc = { name, child };
      stack.workers.push(proc);
      await waitForLine(child, /"msg":"worker running"/, 60_000, name);
      return proc;
    },
    async kill(proc, signal = 'SIGTERM') {
      proc.child.kill(signal);
      await waitForExit(proc.child, 15_000);
    },
    async stop() {
      const all = [...stack.apis, ...stack.workers].map((p) => p.child);
      for (const child of all) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const exited = await Promise.all(all.map((child) => waitForExit(child, 15_000)));
      all.forEach((child, i) => {
        if (!exited[i]) child.kill('SIGKILL');
      });
    },
  };
  try {
    const apiStarts = Array.from({ length: apis }, async (_, i) => {
      const port = await freePort();
      const name = `${tag}-api-${i + 1}`;
      const child = spawnService('api', name, { ...configEnv({ ...config, port }), ...env }, apiNodeArgs);
      const url = `http://127.0.0.1:${port}`;
      stack.apis.push({ name, child, url });
      await waitForReady(url, child, 60_000, name);
      return url;
    });
    const workerStarts = Array.from({ length: workers }, () => stack.addWorker());
    stack.urls = await Promise.all(apiStarts);
    await Promise.all(workerStarts);
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** One api process on a given port (for restarting an api of a running stack on its old port). */
export async function spawnApi(
  config: Config,
  port: number,
  name: string,
  dir = logDir(),
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; url: string }> {
  mkdirSync(dir, { recursive: true });
  const log = createWriteStream(path.join(dir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'server.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...configEnv({ ...config, port }), ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} (see ${dir}/${name}.log)`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return { child, url };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not listen within 60 s`);
    await sleep(100);
  }
}
