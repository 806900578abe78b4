/**
 * Brings up the infrastructure the service needs on a developer or CI machine without
 * Docker: MariaDB and Redis (Debian packages), the Temporal CLI (built with `go install`)
 * and the Java time-skipping test server (resolved by Maven). Every step checks first and
 * does nothing when the part is already there; tools are cached under ~/.cache, keyed by
 * version, so fresh clones reuse them.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { aptInstall as aptGetInstall, run, which } from './lib/shell';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEST_SERVER_VERSION = '1.38.0';
/** Pinned: 4.3.x crashed on a hypothesis mismatch; this one runs the contract tier. */
export const SCHEMATHESIS_VERSION = '4.32.5';
export const CACHE_DIR = process.env.CONCERT_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'concert-reservation');

const say = (msg: string): void => {
  process.stderr.write(`[provision] ${msg}\n`);
};

/** Resolves when something accepts TCP connections at host:port, or rejects after `timeoutMs`. */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(host, port)) return;
    await delay(200);
  }
  throw new Error(`nothing answered on ${host}:${port} within ${timeoutMs} ms`);
}

export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** No policy-rc.d guard here, as before: a package's maintainer script may start its service as Debian does. */
const aptInstall = (packages: string[]): void => aptGetInstall(packages, { say });

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  const host = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname;
  return { host, port: u.port ? Number(u.port) : defaultPort };
}

const isLocal = (host: string): boolean => host === '127.0.0.1' || host === '::1' || host === 'localhost';

/** What an ensure step started; `stop()` ends it again (a no-op when it was already running). */
export interface Started {
  started: boolean;
  stop(): Promise<void>;
}

const alreadyRunning: Started = { started: false, stop: async () => undefined };

async function stopByPidFile(pidFile: string, name: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid) return;
  say(`stopping ${name} (pid ${pid})`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 150; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await delay(200);
  }
}

/** Makes sure Redis answers at `url`, installing and starting Debian's redis-server when it does not. */
export async function ensureRedis(url: string): Promise<Started> {
  const { host, port } = hostPort(url, 6379);
  if (await portOpen(host, port)) return alreadyRunning;
  if (!isLocal(host)) throw new Error(`Redis at ${host}:${port} does not answer`);
  if (!existsSync('/usr/bin/redis-server')) aptInstall(['redis-server']);
  say(`starting redis-server on 127.0.0.1:${port}`);
  run('/usr/bin/redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    // The waiting line lives only in Redis: the append-only file keeps every place across a
    // restart (fsync once a second).
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--dir',
    redisDir(port),
    '--pidfile',
    redisPidFile(port),
    '--logfile',
    path.join(CACHE_DIR, `redis-${port}.log`),
  ]);
  await waitForPort(host, port, 15_000);
  return { started: true, stop: () => stopByPidFile(redisPidFile(port), 'redis-server') };
}

const redisPidFile = (port: number): string => `/tmp/concert-redis-${port}.pid`;
const redisDir = (port: number): string => {
  const dir = path.join(CACHE_DIR, `redis-${port}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const MARIADB_PID_FILE = '/run/mysqld/concert-mariadbd.pid';

/**
 * Makes sure MariaDB/MySQL answers at `url` and that its user and database exist. When
 * nothing answers on a local address, installs Debian's mariadb-server and starts
 * `mariadbd` in the background (there is no systemd here).
 */
export async function ensureMariaDb(url: string): Promise<Started> {
  const { host, port } = hostPort(url, 3306);
  mkdirSync(CACHE_DIR, { recursive: true });
  let result = alreadyRunning;
  if (!(await portOpen(host, port))) {
    if (!isLocal(host)) throw new Error(`MySQL at ${host}:${port} does not answer`);
    if (!existsSync('/usr/sbin/mariadbd')) aptInstall(['mariadb-server', 'mariadb-client']);
    if (!existsSync('/var/lib/mysql/mysql')) {
      say('initialising the MariaDB data directory…');
      run('mariadb-install-db', [
        '--user=mysql',
        '--datadir=/var/lib/mysql',
        '--auth-root-authentication-method=socket',
      ]);
    }
    mkdirSync('/run/mysqld', { recursive: true });
    run('chown', ['mysql:mysql', '/run/mysqld']);
    say(`starting mariadbd on 127.0.0.1:${port}`);
    run('start-stop-daemon', [
      '--start',
      '--background',
      '--make-pidfile',
      '--pidfile',
      MARIADB_PID_FILE,
      '--exec',
      '/usr/sbin/mariadbd',
      '--',
      '--user=mysql',
      '--bind-address=127.0.0.1',
      `--port=${port}`,
      `--socket=/run/mysqld/mysqld.sock`,
      '--max-connections=2000',
      '--innodb-buffer-pool-size=512M',
      // A developer/CI box: commits are written to the OS at once and flushed every second.
      '--innodb-flush-log-at-trx-commit=2',
      '--skip-log-bin',
      `--log-error=${path.join(CACHE_DIR, 'mariadb.err')}`,
    ]);
    await waitForPort(host, port, 60_000);
    result = { started: true, stop: () => stopByPidFile(MARIADB_PID_FILE, 'mariadbd') };
  }
  await ensureDatabaseUser(url);
  return result;
}

async function ensureDatabaseUser(url: string): Promise<void> {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const database = u.pathname.replace(/^\//, '');
  const mysql = await import('mysql2/promise');
  try {
    const conn = await mysql.createConnection({ uri: url });
    await conn.end();
    return;
  } catch (err) {
    if (!existsSync('/run/mysqld/mysqld.sock') || process.getuid?.() !== 0) throw err;
  }
  say(`creating MySQL user ${user} and database ${database}`);
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const sql = [
    `CREATE DATABASE IF NOT EXISTS \`${database}\``,
    `CREATE USER IF NOT EXISTS '${esc(user)}'@'127.0.0.1' IDENTIFIED BY '${esc(password)}'`,
    `CREATE USER IF NOT EXISTS '${esc(user)}'@'localhost' IDENTIFIED BY '${esc(password)}'`,
    // Tests create a database per test file, so the development user may create databases.
    `GRANT ALL PRIVILEGES ON *.* TO '${esc(user)}'@'127.0.0.1'`,
    `GRANT ALL PRIVILEGES ON *.* TO '${esc(user)}'@'localhost'`,
    'FLUSH PRIVILEGES',
  ].join(';\n');
  execFileSync('mariadb', ['--protocol=socket', '-uroot'], { input: sql, stdio: ['pipe', 'inherit', 'inherit'] });
}

/** Path of a `temporal` CLI: the one on PATH, else the cached build, else a fresh `go install`. */
export function ensureTemporalCli(): string {
  const onPath = which('temporal');
  if (onPath) return onPath;
  const dir = path.join(CACHE_DIR, 'temporal-cli', TEMPORAL_CLI_VERSION);
  const bin = path.join(dir, 'temporal');
  if (existsSync(bin)) return bin;
  if (!which('go')) throw new Error('the Temporal CLI is not on PATH and Go is missing to build it');
  say(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (takes a few minutes the first time)…`);
  mkdirSync(dir, { recursive: true });
  run('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    env: { GOBIN: dir, GOFLAGS: '-buildvcs=false' },
  });
  return bin;
}

/**
 * Path of a script that runs the Java SDK's time-skipping test server (`<script> <port>`),
 * for `TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type:
 * 'existing-path', path } } })`. Maven resolves the classpath once; a
 * client-compiler-only JVM starts in about a second, well inside the SDK's start-up window.
 */
export function ensureTestServer(): string {
  // `-quiet`: the classpath includes slf4j-nop (a cache made without it would print SLF4J's warnings).
  const dir = path.join(CACHE_DIR, 'temporal-test-server', `${TEST_SERVER_VERSION}-quiet`);
  const script = path.join(dir, 'test-server.sh');
  if (existsSync(script)) return script;
  mkdirSync(dir, { recursive: true });
  const classpathFile = path.join(dir, 'classpath.txt');
  if (!existsSync(classpathFile)) {
    if (!which('mvn') || !which('java'))
      throw new Error('Maven and Java 17 are needed for the time-skipping test server');
    say(`resolving io.temporal:temporal-test-server:${TEST_SERVER_VERSION} with Maven…`);
    writeFileSync(
      path.join(dir, 'pom.xml'),
      `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.concert</groupId>
  <artifactId>temporal-test-server-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
    <!-- The server logs through SLF4J 1.7; without a binding it prints three warnings per start. -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-nop</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
`,
    );
    run(
      'mvn',
      ['-q', '-B', '-Dstyle.color=never', 'dependency:build-classpath', `-Dmdep.outputFile=${classpathFile}`],
      { cwd: dir },
    );
  }
  const classpath = readFileSync(classpathFile, 'utf8').trim();
  const jvm = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k';
  writeFileSync(
    script,
    `#!/bin/sh
# Runs the Temporal time-skipping test server: test-server.sh <port>
exec java ${jvm} -cp '${classpath}' io.temporal.testserver.TestServer "$@"
`,
  );
  chmodSync(script, 0o755);
  return script;
}

/**
 * Path of the `st` (Schemathesis) CLI in a venv of its own under the cache, outside the
 * checkout: made with `python3 -m venv` and `pip install schemathesis==<pinned>` the first
 * time, reused afterwards. The venv is complete once its `st` answers with the pinned version.
 */
export function ensureSchemathesis(): string {
  const dir = path.join(CACHE_DIR, `schemathesis-${SCHEMATHESIS_VERSION}`);
  const st = path.join(dir, 'bin', 'st');
  const version = existsSync(st) ? spawnSync(st, ['--version'], { encoding: 'utf8' }).stdout : '';
  if (version.includes(SCHEMATHESIS_VERSION)) return st;
  // Debian's python3 lacks `venv` (ensurepip) until python3-venv is installed.
  if (!which('python3')) aptInstall(['python3', 'python3-venv']);
  say(`installing Schemathesis ${SCHEMATHESIS_VERSION} into ${dir}…`);
  if (spawnSync('python3', ['-m', 'venv', '--clear', dir], { stdio: 'ignore' }).status !== 0) {
    aptInstall(['python3-venv']);
    run('python3', ['-m', 'venv', '--clear', dir]);
  }
  run(path.join(dir, 'bin', 'pip'), [
    'install',
    '-q',
    '--disable-pip-version-check',
    `schemathesis==${SCHEMATHESIS_VERSION}`,
  ]);
  return st;
}

/** Options for {@link startTemporalDevServer}. */
export interface DevServerOptions {
  port: number;
  uiPort?: number;
  /** Keep workflows on disk across restarts; in memory when absent. */
  dbFile?: string;
  namespace?: string;
  logFile?: string;
  searchAttributes: readonly string[];
  /** `PRAGMA=VALUE` pairs for the SQLite file (e.g. `journal_mode=WAL`); the dev server's defaults when absent. */
  sqlitePragmas?: readonly string[];
}

/** Starts `temporal server start-dev` as a child process and waits until its gRPC port answers. */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<ChildProcess> {
  const cli = ensureTemporalCli();
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--namespace',
    opts.namespace ?? 'default',
    '--log-level',
    'warn',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableExecuteMultiOperation=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
  ];
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.dbFile) {
    mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  for (const sa of opts.searchAttributes) args.push('--search-attribute', sa);
  for (const pragma of opts.sqlitePragmas ?? []) args.push('--sqlite-pragma', pragma);
  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(cli, args, { stdio: ['ignore', out, out] });
  // The child holds its own copy of the log file's descriptor; the parent's would only leak.
  if (typeof out === 'number') closeSync(out);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal dev server exited with ${code}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([waitForPort('127.0.0.1', opts.port, 90_000), exited]);
  return child;
}

/** `node --import tsx scripts/provision.ts [services|temporal|test-server|schemathesis|all]` */
async function main(): Promise<void> {
  const what = process.argv[2] ?? 'all';
  const { loadConfig } = await import('../src/config');
  const config = loadConfig();
  if (what === 'services' || what === 'all') {
    await ensureMariaDb(config.databaseUrl);
    await ensureRedis(config.redisUrl);
  }
  if (what === 'temporal' || what === 'all') say(`temporal CLI: ${ensureTemporalCli()}`);
  if (what === 'test-server' || what === 'all') say(`test server: ${ensureTestServer()}`);
  if (what === 'schemathesis' || what === 'all') say(`schemathesis: ${ensureSchemathesis()}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(__filename)) {
  main().catch((err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
