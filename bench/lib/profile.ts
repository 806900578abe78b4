/**
 * Where the service under test runs, as a small adapter the scenarios do not look behind:
 * - `embedded` (default): a Temporal dev server of the bench's own and api/worker processes
 *   started by scripts/lib/stack.ts against the shared MariaDB and Redis;
 * - `cluster`: the production shape of scripts/cluster/profile.ts (when that file is in the
 *   checkout), with the same api/worker counts and settings.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { Config } from '../../src/config';
import { admissionTaskQueue, reservationTaskQueue } from '../../src/shared/ids';
import { configEnv } from '../../scripts/lib/config';
import { DevServer } from '../../scripts/lib/dev-server';
import type { TemporalStorage } from '../../scripts/lib/dev-server';
import { ROOT } from '../../scripts/lib/process';
import { startStack } from '../../scripts/lib/stack';
import { findPids } from './cpu';
import type { Watched } from './cpu';

export type ProfileName = 'embedded' | 'cluster';
export const PROFILES: readonly ProfileName[] = ['embedded', 'cluster'];

/** One set of api and worker processes to start. */
export interface StackRequest {
  /** The service's settings; the profile fills in where Temporal (and, for cluster, Redis) is. */
  config: Config;
  apis: number;
  workers: number;
  /** Environment winning over `config` (e.g. AUTH_JWT_SECRET). */
  env: Record<string, string>;
  /** Node flags for the api processes (e.g. `--cpu-prof`). */
  apiNodeArgs?: string[];
}

/** A running set of api and worker processes. */
export interface RunningStack {
  urls: string[];
  temporalAddress: string;
  /** The config the processes run with (temporalAddress filled in). */
  config: Config;
  /** Processes whose CPU each scenario reports: apis, workers and the Temporal server(s). */
  watched: Watched[];
  /** Pid and start time (epoch ms) of each api process, e.g. to place a CPU profile on the clock. */
  apis: Array<{ pid: number; startedAt: number }>;
  stop(): Promise<void>;
}

export interface BenchProfile {
  name: ProfileName;
  /** The Temporal frontend the stacks use (for the Temporal ceiling and backlog probes). */
  temporalAddress(): Promise<string>;
  /** Whether `temporalAddress()` answers before any stack has started (the cluster's comes with its first stack). */
  temporalBeforeStack: boolean;
  /** Temporal server processes to sample CPU of. */
  temporalWatched(): Watched[];
  start(req: StackRequest): Promise<RunningStack>;
  /** Stops what the profile itself started (e.g. the dev server). */
  close(): Promise<void>;
}

/** The dev-server profile: one Temporal dev server for the whole run, stacks started on demand. */
export function embeddedProfile(workDir: string, storage: TemporalStorage): BenchProfile {
  let server: DevServer | undefined;
  const temporal = async (): Promise<DevServer> =>
    (server ??= await DevServer.start(path.join(workDir, 'temporal'), storage));
  const temporalWatched = (): Watched[] => (server?.pid ? [{ name: 'temporal', pid: server.pid }] : []);
  return {
    name: 'embedded',
    temporalAddress: async () => (await temporal()).address,
    temporalBeforeStack: true,
    temporalWatched,
    async start(req) {
      const config = { ...req.config, temporalAddress: (await temporal()).address };
      const startedAt = Date.now();
      const stack = await startStack(config, {
        apis: req.apis,
        workers: req.workers,
        env: req.env,
        apiNodeArgs: req.apiNodeArgs,
      });
      return {
        urls: stack.urls,
        temporalAddress: config.temporalAddress,
        config,
        watched: [
          ...stack.apis.map((p, i) => ({ name: `api-${i + 1}`, pid: p.child.pid! })),
          ...stack.workers.map((p, i) => ({ name: `worker-${i + 1}`, pid: p.child.pid! })),
          ...temporalWatched(),
        ],
        apis: stack.apis.map((p) => ({ pid: p.child.pid!, startedAt })),
        stop: () => stack.stop(),
      };
    },
    close: async () => server?.destroy(),
  };
}

/** What the bench uses of scripts/cluster/profile.ts (kept structural, so this file compiles without it). */
interface ClusterModule {
  startClusterProfile(options: {
    apis?: number;
    workers?: number;
    env?: Record<string, string>;
    uiPort?: number | false;
  }): Promise<{
    urls: { apis: string[] };
    temporalAddress: string;
    redisNodes: string[];
    apis: Array<{ name: string; pid: number }>;
    workers: Array<{ name: string; pid: number }>;
    temporal?: { processes?: Record<string, { pid: number }> };
    redis?: { processes?: Map<number, { pid: number }> };
    stop(): Promise<void>;
  }>;
}

const CLUSTER_MODULE = path.join(ROOT, 'scripts', 'cluster', 'profile.ts');

/**
 * The cluster profile through scripts/cluster/profile.ts. Every stack is a fresh set of the
 * cluster's api and worker processes (the infrastructure is reused); the api URLs are used
 * directly, not through nginx, so the load spreads like in the embedded profile.
 */
export function clusterProfile(): BenchProfile {
  if (!existsSync(CLUSTER_MODULE)) {
    throw new Error(
      `cluster profile not available in this checkout (${path.relative(ROOT, CLUSTER_MODULE)} is missing); use --profile=embedded`,
    );
  }
  let temporalAddress: string | undefined;
  let temporalPids: Watched[] = [];
  return {
    name: 'cluster',
    async temporalAddress() {
      if (!temporalAddress) throw new Error('the cluster profile knows its Temporal address once a stack has started');
      return temporalAddress;
    },
    temporalBeforeStack: false,
    temporalWatched: () => temporalPids,
    async start(req) {
      const mod = (await import(CLUSTER_MODULE)) as ClusterModule;
      // The cluster decides where Redis and Temporal are; everything else comes from the bench's config.
      const {
        REDIS_URL: _redis,
        REDIS_CLUSTER_NODES: _nodes,
        TEMPORAL_ADDRESS: _temporal,
        PORT: _port,
        ...env
      } = configEnv(req.config);
      const cluster = await mod.startClusterProfile({
        apis: req.apis,
        workers: req.workers,
        uiPort: false,
        env: { ...env, ...req.env, ...(req.apiNodeArgs?.length ? { NODE_OPTIONS: req.apiNodeArgs.join(' ') } : {}) },
      });
      temporalAddress = cluster.temporalAddress;
      // Every Temporal service, Redis Cluster node and PostgreSQL backend is sampled, so each scenario's CPU splits per component.
      temporalPids = [
        ...Object.entries(cluster.temporal?.processes ?? {}).map(([name, p]) => ({
          name: `temporal-${name}`,
          pid: p.pid,
        })),
        ...[...(cluster.redis?.processes ?? new Map<number, { pid: number }>())].map(([port, p]) => ({
          name: `redis-${port}`,
          pid: p.pid,
        })),
        ...findPids('postgres').map((pid) => ({ name: 'postgres', pid })),
      ];
      const startedAt = Date.now();
      return {
        urls: cluster.urls.apis,
        temporalAddress: cluster.temporalAddress,
        config: {
          ...req.config,
          temporalAddress: cluster.temporalAddress,
          redisUrl: `redis://${cluster.redisNodes[0] ?? '127.0.0.1:7000'}`,
          redisClusterNodes: cluster.redisNodes,
        },
        watched: [
          ...cluster.apis.map((p, i) => ({ name: `api-${i + 1}`, pid: p.pid })),
          ...cluster.workers.map((p, i) => ({ name: `worker-${i + 1}`, pid: p.pid })),
          ...temporalPids,
        ],
        apis: cluster.apis.map((p) => ({ pid: p.pid, startedAt })),
        async stop() {
          await cluster.stop();
          await endLeftoverWorkflows(cluster.temporalAddress, req.config.temporalNamespace, req.config.taskQueue);
        },
      };
    },
    close: async () => undefined,
  };
}

/**
 * Terminates the workflows a stopped stack left running on the cluster (queue entries, holds,
 * its admission loop), and waits (at most 3 min) until that is done. The cluster outlives the
 * bench, and those runs' timers would otherwise keep firing into task queues nobody polls,
 * taking the cluster's CPU from the next stack, the next bench or the next test run.
 */
async function endLeftoverWorkflows(address: string, namespace: string, taskQueue: string): Promise<void> {
  const queues = [taskQueue, reservationTaskQueue(taskQueue), admissionTaskQueue(taskQueue)];
  const connection = await Connection.connect({ address });
  try {
    const jobId = randomUUID();
    await connection.workflowService.startBatchOperation({
      namespace,
      jobId,
      reason: 'bench stack stopped',
      visibilityQuery: `TaskQueue IN (${queues.map((q) => `'${q}'`).join(', ')}) AND ExecutionStatus = 'Running'`,
      terminationOperation: {},
    });
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const { state } = await connection.workflowService.describeBatchOperation({ namespace, jobId });
      if (state !== proto.api.enums.v1.BatchOperationState.BATCH_OPERATION_STATE_RUNNING) return;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    process.stderr.write(
      `[bench] terminating ${taskQueue}'s leftover workflows still runs after 3 min (batch ${jobId})\n`,
    );
  } finally {
    await connection.close();
  }
}

export function startProfile(name: ProfileName, workDir: string, storage: TemporalStorage): BenchProfile {
  return name === 'cluster' ? clusterProfile() : embeddedProfile(workDir, storage);
}
