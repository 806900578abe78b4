/**
 * `npm start`: everything on one machine, in the foreground. Provisions MariaDB and Redis,
 * starts a Temporal dev server with its Web UI (on disk, so workflows survive a restart),
 * migrates and seeds the database, then runs one worker and one API until Ctrl-C, which
 * stops all of them, and whatever this script started, in order.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import pinoPretty from 'pino-pretty';
import { DEV_AUTH_JWT_SECRET, loadConfig } from '../src/config';
import { searchAttributeFlags } from '../src/shared/search-attributes';
import { CACHE_DIR, ensureMariaDb, ensureRedis, portOpen, startTemporalDevServer } from './provision';
import type { Started } from './provision';

const ROOT = path.resolve(__dirname, '..');
const say = (msg: string): void => {
  process.stdout.write(`\x1b[1m[start]\x1b[0m ${msg}\n`);
};

function runOnce(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { stdio: 'inherit' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`))));
  });
}

/** A long-running child in its own process group (Ctrl-C reaches only this script, which stops children in order). */
function service(name: string, command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pretty = pinoPretty({
    colorize: process.stdout.isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,component',
    messageFormat: `${name.padEnd(6)} {msg}`,
    destination: 1,
  });
  child.stdout?.pipe(pretty);
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`${name}: ${chunk.toString()}`));
  return child;
}

function stopChild(child: ChildProcess | undefined, name: string, ms = 15_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  say(`stopping ${name}`);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  say('provisioning MariaDB and Redis (installs them on first run)…');
  const started: Array<[string, Started]> = [];
  started.push(['MariaDB', await ensureMariaDb(config.databaseUrl)]);
  started.push(['Redis', await ensureRedis(config.redisUrl)]);

  let temporal: ChildProcess | undefined;
  const [host = '127.0.0.1', portText = '7233'] = config.temporalAddress.split(':');
  const temporalPort = Number(portText);
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  if (await portOpen(host === 'localhost' ? '127.0.0.1' : host, temporalPort)) {
    say(`using the Temporal server already at ${config.temporalAddress}`);
  } else {
    const dbFile =
      process.env.TEMPORAL_DB_FILE ?? path.join(os.homedir(), '.local/share/concert-reservation/temporal.db');
    say(`starting the Temporal dev server on :${temporalPort} (Web UI :${uiPort}, data in ${dbFile})…`);
    temporal = await startTemporalDevServer({
      port: temporalPort,
      uiPort,
      dbFile,
      // WAL with synchronous=NORMAL: survives a crash of any process, without an fsync per
      // write, which on this kind of machine bounds the dev server to a few hundred writes/s.
      sqlitePragmas: ['journal_mode=WAL', 'synchronous=NORMAL'],
      namespace: config.temporalNamespace,
      searchAttributes: searchAttributeFlags,
      logFile: path.join(CACHE_DIR, 'temporal-dev-server.log'),
    });
  }

  say('migrating and seeding the database…');
  await runOnce('src/db/migrate.ts');
  await runOnce('src/seed.ts');

  const worker = service('worker', process.execPath, ['--import', 'tsx', 'src/worker.ts']);
  // The operator page links into this Web UI (src/api/web.ts).
  process.env.TEMPORAL_UI_URL ??= `http://localhost:${uiPort}`;
  const api = service('api', process.execPath, ['--import', 'tsx', 'src/server.ts']);

  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await stopChild(api, 'api');
    await stopChild(worker, 'worker');
    await stopChild(temporal, 'Temporal dev server');
    for (const [name, part] of started.reverse()) {
      if (part.started) {
        say(`stopping ${name}`);
        await part.stop();
      }
    }
    say('stopped');
    process.exit(code);
  };
  for (const [name, child] of [
    ['api', api],
    ['worker', worker],
    ['Temporal dev server', temporal],
  ] as const) {
    child?.once('exit', (code) => {
      if (!stopping) {
        say(`${name} exited unexpectedly (${code}); stopping everything`);
        void shutdown(1);
      }
    });
  }
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  say(`API          http://localhost:${config.port}  (try /readyz, /docs)`);
  say(`Buyer page   http://localhost:${config.port}/`);
  say(`Operator     http://localhost:${config.port}/admin  (admin key: ADMIN_API_KEY)`);
  if (config.authJwtSecret === DEV_AUTH_JWT_SECRET) {
    say('identity     development secret; mint an identity token for a user with');
    say('               npm run -s user-token -- <userId>');
    say(`               curl -s localhost:${config.port}/v1/dev/identity -H 'content-type: application/json' -d '{}'`);
  }
  say(`Temporal UI  http://localhost:${uiPort}/namespaces/${config.temporalNamespace}/workflows`);
  say('Ctrl-C stops everything.');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
