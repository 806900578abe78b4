/**
 * The Temporal server as a cluster runs it: the server and its schema tool built from their Go
 * modules (cached per version), PostgreSQL for persistence and visibility, several history
 * shards, and frontend, history, matching and worker as four separate processes that find
 * each other through the membership table. Then the namespace and search attributes are
 * registered through the API, and the Web UI server is started against the frontend.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { stringify } from 'yaml';
import { CACHE_DIR, portOpen } from '../provision';
import type { PostgresSettings } from './postgres';
import type { ManagedProcess } from './proc';
import { adoptProcess, capture, readyOrDied, run, runningPid, say, startProcess, waitUntil, which } from './proc';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_UI_VERSION = 'v2.42.1';

/** The four services of a Temporal cluster, in the order they are started. */
export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** Ports of one service: gRPC, ringpop membership and Prometheus metrics. */
export interface ServicePorts {
  grpc: number;
  membership: number;
  metrics: number;
}

/** Default layout: Temporal's usual ports (frontend 7233, history 7234, matching 7235, worker 7239). */
export const DEFAULT_TEMPORAL_PORTS: Record<TemporalService, ServicePorts> = {
  frontend: { grpc: 7233, membership: 6933, metrics: 7933 },
  history: { grpc: 7234, membership: 6934, metrics: 7934 },
  matching: { grpc: 7235, membership: 6935, metrics: 7935 },
  worker: { grpc: 7239, membership: 6939, metrics: 7939 },
};
export const DEFAULT_FRONTEND_HTTP_PORT = 7243;

function goInstall(pkg: string, dir: string, what: string): void {
  if (!which('go')) throw new Error(`Go is needed to build ${what}: install it (https://go.dev/dl) and run again`);
  say(`building ${what} with go install ${pkg} (several minutes the first time, cached afterwards)…`);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  run('go', ['install', pkg], { env: { GOBIN: dir, GOFLAGS: '-buildvcs=false' } });
  say(`built ${what} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Paths of the Temporal binaries, each in its own GOBIN (the server and the UI server are both named `server`). */
export interface TemporalBinaries {
  server: string;
  sql: string;
  ui: string | null;
}

/**
 * Builds (once) the Temporal server, its SQL schema tool and the UI server into
 * CACHE_DIR. A UI server that fails to build is reported and skipped, not fatal.
 */
export function ensureTemporalBinaries({ ui: wantUi = true } = {}): TemporalBinaries {
  const base = path.join(CACHE_DIR, 'temporal-server', TEMPORAL_SERVER_VERSION);
  const server = path.join(base, 'server', 'server');
  const sql = path.join(base, 'sql', 'sql');
  if (!existsSync(server))
    goInstall(
      `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
      path.dirname(server),
      'the Temporal server',
    );
  if (!existsSync(sql))
    goInstall(
      `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
      path.dirname(sql),
      'the Temporal SQL tool',
    );
  const uiDir = path.join(CACHE_DIR, 'temporal-ui', TEMPORAL_UI_VERSION);
  let ui: string | null = wantUi ? path.join(uiDir, 'server') : null;
  if (ui && !existsSync(ui)) {
    try {
      goInstall(
        `github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_VERSION}`,
        uiDir,
        'the Temporal UI server',
      );
    } catch (err) {
      say(
        `the Temporal UI server did not build (${err instanceof Error ? err.message : String(err)}); going on without it`,
      );
      ui = null;
    }
  }
  return { server, sql, ui };
}

/**
 * Creates the schema-version tables once, then brings both databases to the newest schema
 * embedded in the SQL tool (a no-op when they are current).
 */
export function ensureTemporalSchemas(
  sqlTool: string,
  pg: PostgresSettings,
  databases: { main: string; visibility: string },
): void {
  const conn = ['--ep', pg.host, '-p', String(pg.port), '-u', pg.user, '--pw', pg.password, '--pl', 'postgres12'];
  for (const [db, schema] of [
    [databases.main, 'postgresql/v12/temporal'],
    [databases.visibility, 'postgresql/v12/visibility'],
  ] as const) {
    const probe = capture(
      'psql',
      [
        '-h',
        pg.host,
        '-p',
        String(pg.port),
        '-U',
        pg.user,
        '-d',
        db,
        '-tAc',
        "SELECT to_regclass('schema_version') IS NOT NULL",
      ],
      { env: { PGPASSWORD: pg.password } },
    );
    if (!probe.ok) throw new Error(`cannot read database ${db} as ${pg.user}: ${probe.out.trim()}`);
    if (probe.out.trim() !== 't') {
      say(`setting up the Temporal schema in ${db}…`);
      const setup = capture(sqlTool, [...conn, '--db', db, 'setup-schema', '-v', '0.0']);
      if (!setup.ok) throw new Error(`schema setup of ${db} failed:\n${setup.out}`);
    }
    const update = capture(sqlTool, [...conn, '--db', db, 'update-schema', '--schema-name', schema]);
    if (!update.ok) throw new Error(`schema update of ${db} failed:\n${update.out}`);
  }
}

/** Options of {@link writeTemporalConfig}. */
export interface TemporalConfigOptions {
  dir: string;
  pg: PostgresSettings;
  databases: { main: string; visibility: string };
  numHistoryShards: number;
  ports: Record<TemporalService, ServicePorts>;
  frontendHttpPort: number;
  logLevel: string;
}

/**
 * Writes the server configuration under `dir/config`: `base.yaml` shared by every service
 * and one `<service>.yaml` each for what must differ per process (its metrics port). The
 * server loads base.yaml, then the file named by `--env`.
 */
export function writeTemporalConfig(opts: TemporalConfigOptions): { root: string; dynamicConfig: string } {
  const configDir = path.join(opts.dir, 'config');
  mkdirSync(configDir, { recursive: true });
  const dynamicConfig = path.join(opts.dir, 'dynamicconfig.yaml');
  const on = [{ value: true }];
  writeFileSync(
    dynamicConfig,
    `# Generated by scripts/cluster/temporal.ts on every start; edits are overwritten.\n${stringify({
      // What the app relies on: update-with-start and updates answered on acceptance.
      'frontend.enableUpdateWorkflowExecution': on,
      'frontend.enableExecuteMultiOperation': on,
      'frontend.enableUpdateWorkflowExecutionAsyncAccepted': on,
      // Search attributes added at start are usable at once, not after the cache's next refresh.
      'system.forceSearchAttributesCacheRefreshOnRead': on,
      // The dev server's value: the API lists workflows by search attribute.
      'frontend.namespaceRPS.visibility': [{ value: 100 }],
    })}`,
  );
  const store = (database: string, maxConns: number): object => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${opts.pg.host}:${opts.pg.port}`,
      connectProtocol: 'tcp',
      user: opts.pg.user,
      password: opts.pg.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const services = Object.fromEntries(
    TEMPORAL_SERVICES.map((name) => [
      name,
      {
        rpc: {
          grpcPort: opts.ports[name].grpc,
          membershipPort: opts.ports[name].membership,
          bindOnLocalHost: true,
          ...(name === 'frontend' ? { httpPort: opts.frontendHttpPort } : {}),
        },
      },
    ]),
  );
  const frontend = `127.0.0.1:${opts.ports.frontend.grpc}`;
  const base = {
    log: { stdout: true, level: opts.logLevel },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      // Fixed for the life of the database: changing it later needs a new database.
      numHistoryShards: opts.numHistoryShards,
      datastores: {
        'postgres-default': store(opts.databases.main, 20),
        'postgres-visibility': store(opts.databases.visibility, 10),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontend },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfig, pollInterval: '10s' },
  };
  writeFileSync(path.join(configDir, 'base.yaml'), `# Generated by scripts/cluster/temporal.ts.\n${stringify(base)}`);
  for (const name of TEMPORAL_SERVICES) {
    const perService = {
      global: {
        metrics: {
          prometheus: {
            framework: 'tally',
            timerType: 'histogram',
            listenAddress: `127.0.0.1:${opts.ports[name].metrics}`,
          },
        },
      },
    };
    writeFileSync(
      path.join(configDir, `${name}.yaml`),
      `# Generated: the ${name} service's own settings.\n${stringify(perService)}`,
    );
  }
  return { root: opts.dir, dynamicConfig };
}

/** The running Temporal services, with a way to restart one (drills). */
export interface TemporalCluster {
  address: string;
  processes: Record<TemporalService, ManagedProcess>;
  /** kill -9 one service and start it again; resolves once its gRPC port answers. */
  restart(service: TemporalService, opts?: { kill?: boolean }): Promise<ManagedProcess>;
  stop(): Promise<void>;
}

/** Starts (or adopts, when a previous run left them running) the four services as separate processes. */
export async function startTemporalServices(
  server: string,
  root: string,
  ports: Record<TemporalService, ServicePorts>,
): Promise<TemporalCluster> {
  const procName = (s: TemporalService): string => `temporal-${s}`;
  // The worker service serves no gRPC; it is up once it listens for membership.
  const readyPort = (s: TemporalService): number => (s === 'worker' ? ports[s].membership : ports[s].grpc);
  const launch = async (service: TemporalService): Promise<ManagedProcess> => {
    const proc = startProcess(procName(service), server, [
      '--root',
      root,
      '--config',
      'config',
      '--env',
      service,
      '--allow-no-auth',
      'start',
      '--service',
      service,
    ]);
    await readyOrDied(
      proc,
      waitUntil(
        () => portOpen('127.0.0.1', readyPort(service)),
        90_000,
        `Temporal ${service} did not listen on :${readyPort(service)} (see ${proc.logFile})`,
      ),
      `Temporal ${service}`,
    );
    return proc;
  };
  const processes = {} as Record<TemporalService, ManagedProcess>;
  const stop = async (): Promise<void> => {
    for (const service of [...TEMPORAL_SERVICES].reverse()) {
      const proc = processes[service] as ManagedProcess | undefined;
      if (proc?.owned) {
        say(`stopping Temporal ${service}`);
        await proc.stop();
        // Another run (a drill) may have restarted it meanwhile: its pid file names the replacement.
        const replacement = runningPid(procName(service));
        if (replacement && replacement !== proc.pid) await adoptProcess(procName(service), replacement).stop();
      }
    }
  };
  try {
    for (const service of TEMPORAL_SERVICES) {
      const pid = runningPid(procName(service));
      if (pid && (await portOpen('127.0.0.1', readyPort(service)))) {
        say(`Temporal ${service} already running (pid ${pid})`);
        processes[service] = adoptProcess(procName(service), pid);
      } else {
        if (await portOpen('127.0.0.1', readyPort(service)))
          throw new Error(`port ${readyPort(service)} for Temporal ${service} is taken by another program`);
        say(`starting Temporal ${service} on 127.0.0.1:${ports[service].grpc}…`);
        processes[service] = await launch(service);
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address: `127.0.0.1:${ports.frontend.grpc}`,
    processes,
    async restart(service, { kill = true } = {}) {
      const old = processes[service];
      if (kill) await old.kill9();
      else await old.stop();
      await waitUntil(
        async () => !(await portOpen('127.0.0.1', readyPort(service))),
        10_000,
        `${service} port still open`,
      );
      const launched = await launch(service);
      // A restart keeps ownership: a service adopted from another run is left to that run to stop.
      processes[service] = old.owned ? launched : adoptProcess(procName(service), launched.pid);
      return processes[service];
    },
    stop,
  };
}

const ALREADY_EXISTS = 6;
const grpcCode = (err: unknown): number | undefined => (err as { code?: number } | null)?.code;

const SA_TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers `namespace` (retention `retentionDays`) and the `name=Type` search attributes
 * through the frontend, skipping what exists; retries while the cluster is still forming.
 */
export async function ensureNamespace(
  address: string,
  namespace: string,
  searchAttributes: readonly string[],
  retentionDays = 1,
): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 10_000 });
  try {
    await waitUntil(
      async () => {
        try {
          await connection.workflowService.registerNamespace({
            namespace,
            workflowExecutionRetentionPeriod: msToTs(retentionDays * 86_400_000),
          });
          say(`registered the Temporal namespace "${namespace}"`);
        } catch (err) {
          if (grpcCode(err) !== ALREADY_EXISTS) throw err;
        }
        return true;
      },
      120_000,
      `could not register the namespace ${namespace} at ${address}`,
    );
    // A new namespace reaches every service's cache within its refresh interval (~10 s).
    await waitUntil(
      async () => {
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      },
      60_000,
      `namespace ${namespace} not visible at ${address}`,
    );
    const wanted = Object.fromEntries(
      searchAttributes.map((flag) => {
        const [name = '', type = ''] = flag.split('=');
        const indexed = SA_TYPES[type];
        if (indexed === undefined) throw new Error(`unknown search attribute type in ${flag}`);
        return [name, indexed];
      }),
    );
    await waitUntil(
      async () => {
        const existing = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = Object.fromEntries(
          Object.entries(wanted).filter(([name]) => !(name in (existing.customAttributes ?? {}))),
        );
        if (Object.keys(missing).length === 0) return true;
        say(`adding search attributes ${Object.keys(missing).join(', ')}`);
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
        return false;
      },
      60_000,
      `could not add the search attributes to ${namespace}`,
    );
  } finally {
    await connection.close();
  }
}

/** Starts the Temporal Web UI server against `frontend` on 127.0.0.1:`port` (or adopts a running one). */
export async function startTemporalUi(
  uiServer: string,
  dir: string,
  frontend: string,
  port: number,
  namespace: string,
): Promise<ManagedProcess> {
  const pid = runningPid('temporal-ui');
  if (pid && (await portOpen('127.0.0.1', port))) {
    say(`Temporal UI already running (pid ${pid})`);
    return adoptProcess('temporal-ui', pid);
  }
  if (await portOpen('127.0.0.1', port))
    throw new Error(`port ${port} for the Temporal UI is taken by another program`);
  const configDir = path.join(dir, 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(
    path.join(configDir, 'cluster.yaml'),
    `# Generated by scripts/cluster/temporal.ts.\n${stringify({
      temporalGrpcAddress: frontend,
      host: '127.0.0.1',
      port,
      enableUi: true,
      defaultNamespace: namespace,
      refreshInterval: '1m',
      cors: { cookieInsecure: true, allowOrigins: [`http://127.0.0.1:${port}`, `http://localhost:${port}`] },
    })}`,
  );
  say(`starting the Temporal UI on 127.0.0.1:${port}…`);
  const proc = startProcess('temporal-ui', uiServer, [
    '--root',
    dir,
    '--config',
    'config',
    '--env',
    'cluster',
    'start',
  ]);
  await readyOrDied(
    proc,
    waitUntil(() => portOpen('127.0.0.1', port), 60_000, `the Temporal UI did not listen on :${port}`),
  );
  return proc;
}
