/**
 * The cluster profile: the production shape on one machine. PostgreSQL, the Temporal
 * services as four processes with several history shards, the Temporal UI, a three-master
 * Redis Cluster, MariaDB, N worker and N api processes, and nginx in front of the apis.
 *
 * Infrastructure that already runs (found by its pid file and port, e.g. from an earlier
 * `npm run start:cluster`) is reused and left running by `stop()`; the api, worker and
 * nginx processes are always this caller's own, so a test can start its own set (own
 * ports, task queue, Redis prefix, short holds) next to a running profile.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { searchAttributeFlags } from '../../src/shared/search-attributes';
import { ensureMariaDb } from '../provision';
import type { Started } from '../provision';
import { startNginx } from './nginx';
import { ensurePostgres } from './postgres';
import type { PostgresSettings } from './postgres';
import type { ManagedProcess } from './proc';
import { CLUSTER_DATA_DIR, LOG_DIR, adoptProcess, readyOrDied, runningPid, say, startProcess, waitUntil } from './proc';
import { startRedisCluster } from './redis-cluster';
import type { RedisCluster } from './redis-cluster';
import {
  DEFAULT_FRONTEND_HTTP_PORT,
  DEFAULT_TEMPORAL_PORTS,
  ensureNamespace,
  ensureTemporalBinaries,
  ensureTemporalSchemas,
  startTemporalServices,
  startTemporalUi,
  writeTemporalConfig,
} from './temporal';
import type { ServicePorts, TemporalCluster, TemporalService } from './temporal';

const ROOT = path.resolve(__dirname, '../..');

/** What to start; every field has a default that matches `npm run start:cluster`. */
export interface ClusterProfileOptions {
  /** nginx's port, the one address of the API (default PORT or 3000). */
  port?: number;
  /** Ports of the api processes behind nginx (default port+1 … port+apis). */
  apiPorts?: number[];
  apis?: number;
  workers?: number;
  /** Extra environment for the api and worker processes (e.g. SEAT_HOLD_SECONDS=3); wins over everything else. */
  env?: Record<string, string>;
  redisPorts?: number[];
  temporalPorts?: Record<TemporalService, ServicePorts>;
  frontendHttpPort?: number;
  numHistoryShards?: number;
  /** Temporal Web UI port (default TEMPORAL_UI_PORT or 8233); `false` for none. */
  uiPort?: number | false;
  postgres?: PostgresSettings;
  /** Namespace retention in days. */
  retentionDays?: number;
}

/** Where each part answers. */
export interface ClusterUrls {
  api: string;
  readyz: string;
  apis: string[];
  temporalFrontend: string;
  temporalFrontendHttp: string;
  temporalUi: string | null;
  redis: string[];
  postgres: string;
  mariadb: string;
}

/** A running cluster profile; `stop()` ends what this call started, in reverse order. */
export interface ClusterProfile {
  urls: ClusterUrls;
  temporalAddress: string;
  redisNodes: string[];
  temporal: TemporalCluster;
  redis: RedisCluster;
  apis: ManagedProcess[];
  workers: ManagedProcess[];
  nginx: ManagedProcess;
  ui: ManagedProcess | null;
  numHistoryShards: number;
  /** The environment the api and worker processes got (beyond the inherited one), api PORT excluded. */
  appEnv: Record<string, string>;
  stop(): Promise<void>;
}

const DEFAULT_POSTGRES: PostgresSettings = {
  host: '127.0.0.1',
  port: 5432,
  user: 'temporal',
  password: 'temporal',
  databases: ['temporal', 'temporal_visibility'],
};

function runScript(script: string, env: Record<string, string>): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${script} exited with ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Stops a process a crashed earlier run of the same app set left behind (its pid file names it). */
async function stopLeftover(name: string): Promise<void> {
  const pid = runningPid(name);
  if (pid) {
    say(`stopping ${name} left from an earlier run (pid ${pid})`);
    await adoptProcess(name, pid).stop(10_000);
  }
}

async function startApp(kind: 'api' | 'worker', name: string, env: Record<string, string>): Promise<ManagedProcess> {
  await stopLeftover(name);
  const proc = startProcess(
    name,
    process.execPath,
    ['--import', 'tsx', path.join('src', kind === 'api' ? 'server.ts' : 'worker.ts')],
    {
      cwd: ROOT,
      env,
    },
  );
  try {
    if (kind === 'api') {
      const url = `http://127.0.0.1:${env.PORT}/readyz`;
      await readyOrDied(
        proc,
        waitUntil(
          async () => (await fetch(url)).status === 200,
          90_000,
          `${name} not ready at ${url} (see ${proc.logFile})`,
        ),
      );
    } else {
      // The worker logs this once it polls its task queue (LOG_LEVEL info or lower).
      await readyOrDied(
        proc,
        waitUntil(
          () => existsSync(proc.logFile) && readFileSync(proc.logFile, 'utf8').includes('"msg":"worker running"'),
          90_000,
          `${name} did not start polling (see ${proc.logFile})`,
        ),
      );
    }
  } catch (err) {
    await proc.stop(5_000);
    throw err;
  }
  return proc;
}

/** The infrastructure of the profile: PostgreSQL, the Temporal services (and UI) and the Redis Cluster. */
export interface ClusterInfra {
  temporalAddress: string;
  namespace: string;
  redisNodes: string[];
  temporal: TemporalCluster;
  redis: RedisCluster;
  ui: ManagedProcess | null;
  numHistoryShards: number;
  frontendHttpPort: number;
  uiPort: number | false;
  pg: PostgresSettings;
  databases: { main: string; visibility: string };
  /** Stops what this call started (parts found running are left running), in reverse order. */
  stop(): Promise<void>;
}

type Stops = Array<[string, () => Promise<void>]>;

async function runStops(stops: Stops): Promise<void> {
  for (const [name, stop] of stops.reverse()) {
    try {
      await stop();
    } catch (err) {
      say(`stopping ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  stops.length = 0;
}

/**
 * Starts (or adopts, when an earlier run left them running) PostgreSQL, the four Temporal
 * services with the namespace registered, the UI and the Redis Cluster; no api, worker or
 * nginx. Used by `npm run start:cluster -- --infra`, by `startClusterProfile` and by the
 * integration tier on the cluster profile (test/helpers/global-setup.ts, TEST_PROFILE=cluster).
 */
export async function startClusterInfra(options: ClusterProfileOptions = {}): Promise<ClusterInfra> {
  const config = loadConfig({ ...process.env, ...options.env });
  const redisPorts = options.redisPorts ?? [7000, 7001, 7002];
  const temporalPorts = options.temporalPorts ?? DEFAULT_TEMPORAL_PORTS;
  const frontendHttpPort = options.frontendHttpPort ?? DEFAULT_FRONTEND_HTTP_PORT;
  const numHistoryShards = options.numHistoryShards ?? 8;
  // TEMPORAL_UI_PORT=0: no UI (nor its build).
  const envUiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  const uiPort = options.uiPort ?? (envUiPort === 0 ? false : envUiPort);
  const pg = options.postgres ?? DEFAULT_POSTGRES;
  const namespace = config.temporalNamespace;
  const stops: Stops = [];
  try {
    say('PostgreSQL for Temporal persistence and visibility…');
    const postgres = await ensurePostgres(pg);
    if (postgres.started) stops.push(['PostgreSQL', () => postgres.stop()]);
    const binaries = ensureTemporalBinaries({ ui: uiPort !== false });
    const databases = { main: pg.databases[0] ?? 'temporal', visibility: pg.databases[1] ?? 'temporal_visibility' };
    ensureTemporalSchemas(binaries.sql, pg, databases);
    const temporalDir = path.join(CLUSTER_DATA_DIR, 'temporal');
    const { root } = writeTemporalConfig({
      dir: temporalDir,
      pg,
      databases,
      numHistoryShards,
      ports: temporalPorts,
      frontendHttpPort,
      logLevel: process.env.TEMPORAL_LOG_LEVEL ?? 'warn',
    });
    const temporal = await startTemporalServices(binaries.server, root, temporalPorts);
    stops.push(['Temporal', () => temporal.stop()]);
    say(`registering the namespace "${namespace}" and its search attributes…`);
    await ensureNamespace(temporal.address, namespace, searchAttributeFlags, options.retentionDays ?? 1);
    let ui: ManagedProcess | null = null;
    if (uiPort !== false && binaries.ui) {
      ui = await startTemporalUi(
        binaries.ui,
        path.join(CLUSTER_DATA_DIR, 'temporal-ui'),
        temporal.address,
        uiPort,
        namespace,
      );
      const started = ui;
      if (started.owned)
        stops.push([
          started.name,
          async () => {
            say(`stopping ${started.name}`);
            await started.stop();
          },
        ]);
    }

    say('Redis Cluster…');
    const redis = await startRedisCluster(path.join(CLUSTER_DATA_DIR, 'redis'), redisPorts);
    stops.push(['Redis Cluster', () => redis.stop()]);
    return {
      temporalAddress: temporal.address,
      namespace,
      redisNodes: redis.nodes,
      temporal,
      redis,
      ui,
      numHistoryShards,
      frontendHttpPort,
      uiPort,
      pg,
      databases,
      stop: () => runStops(stops),
    };
  } catch (err) {
    say(
      `start failed: ${err instanceof Error ? err.message : String(err)}; stopping what was started (logs in ${LOG_DIR})`,
    );
    await runStops(stops);
    throw err;
  }
}

/**
 * Starts the cluster profile (see the module comment). Resolves once nginx answers
 * `/readyz` with 200; on failure stops what it had started and rethrows.
 */
export async function startClusterProfile(options: ClusterProfileOptions = {}): Promise<ClusterProfile> {
  const config = loadConfig({ ...process.env, ...options.env });
  const port = options.port ?? config.port;
  const apis = options.apis ?? 2;
  const workers = options.workers ?? 2;
  const apiPorts = options.apiPorts ?? Array.from({ length: apis }, (_, i) => port + 1 + i);

  const stops: Stops = [];
  const stopAll = (): Promise<void> => runStops(stops);
  const owned = (name: string, part: Started): void => {
    if (part.started) stops.push([name, () => part.stop()]);
  };
  const own = (proc: ManagedProcess): ManagedProcess => {
    if (proc.owned)
      stops.push([
        proc.name,
        async () => {
          say(`stopping ${proc.name}`);
          await proc.stop();
        },
      ]);
    return proc;
  };

  try {
    const infra = await startClusterInfra(options);
    stops.push(['cluster infrastructure', () => infra.stop()]);
    const { temporal, redis, ui, numHistoryShards, frontendHttpPort, uiPort, pg, databases, namespace } = infra;

    say('MariaDB…');
    owned('MariaDB', await ensureMariaDb(config.databaseUrl));
    const appEnv: Record<string, string> = {
      DATABASE_URL: config.databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: namespace,
      REDIS_CLUSTER_NODES: redis.nodes.join(','),
      // Until every process speaks Redis Cluster, the first node (REDIS_CLUSTER_NODES wins where it is read).
      REDIS_URL: `redis://${redis.nodes[0] ?? '127.0.0.1:7000'}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...options.env,
    };
    say('migrating and seeding the database…');
    runScript('src/db/migrate.ts', appEnv);
    for (const line of runScript('src/seed.ts', appEnv).trim().split('\n')) say(line);

    const tag = `p${port}`;
    say(`starting ${workers} worker and ${apis} api processes…`);
    const workerProcs = await Promise.all(
      Array.from({ length: workers }, async (_, i) => own(await startApp('worker', `${tag}-worker-${i + 1}`, appEnv))),
    );
    const apiProcs = await Promise.all(
      apiPorts.map(async (apiPort, i) =>
        own(await startApp('api', `${tag}-api-${i + 1}`, { ...appEnv, PORT: String(apiPort) })),
      ),
    );
    say(`nginx on 127.0.0.1:${port} in front of the apis…`);
    await stopLeftover(`${tag}-nginx`);
    const nginx = own(
      await startNginx({ port, apiPorts, dir: path.join(CLUSTER_DATA_DIR, `nginx-${port}`), name: `${tag}-nginx` }),
    );
    const api = `http://127.0.0.1:${port}`;
    await waitUntil(
      async () => (await fetch(`${api}/readyz`)).status === 200,
      30_000,
      `${api}/readyz did not answer 200`,
    );

    const db = new URL(config.databaseUrl);
    return {
      urls: {
        api,
        readyz: `${api}/readyz`,
        apis: apiPorts.map((p) => `http://127.0.0.1:${p}`),
        temporalFrontend: temporal.address,
        temporalFrontendHttp: `http://127.0.0.1:${frontendHttpPort}`,
        temporalUi: ui ? `http://127.0.0.1:${uiPort}/namespaces/${namespace}/workflows` : null,
        redis: redis.nodes.map((n) => `redis://${n}`),
        postgres: `postgres://${pg.user}@${pg.host}:${pg.port}/${databases.main} (+ ${databases.visibility})`,
        mariadb: `mysql://${db.username}@${db.host}${db.pathname}`,
      },
      temporalAddress: temporal.address,
      redisNodes: redis.nodes,
      temporal,
      redis,
      apis: apiProcs,
      workers: workerProcs,
      nginx,
      ui,
      numHistoryShards,
      appEnv,
      stop: stopAll,
    };
  } catch (err) {
    say(
      `start failed: ${err instanceof Error ? err.message : String(err)}; stopping what was started (logs in ${LOG_DIR})`,
    );
    await stopAll();
    throw err;
  }
}
