/**
 * The integration tier on the cluster profile (`npm run test:cluster`, TEST_PROFILE=cluster):
 * the global setup starts, or reuses when `npm run start:cluster` (or `-- --infra`) already
 * runs, the profile's infrastructure (Temporal services on PostgreSQL with several history
 * shards, the Redis Cluster) and points every test at it through the environment the test
 * helpers already read: TEST_TEMPORAL_ADDRESS (scripts/lib/config.ts) and REDIS_CLUSTER_NODES
 * (src/config.ts, scripts/lib/redis.ts). Each test file still gets its own database, Redis key
 * prefix and task queue, and its api and worker processes (scripts/lib/stack.ts) run against
 * the cluster. MariaDB is the shared one in both profiles.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startClusterInfra } from '../../scripts/cluster/profile';
import type { ClusterInfra } from '../../scripts/cluster/profile';
import { setProgressSink } from '../../scripts/cluster/proc';

/** True when the tests run against the cluster profile. */
export const onClusterProfile = (): boolean => process.env.TEST_PROFILE === 'cluster';

const holder = globalThis as { __clusterInfra?: ClusterInfra };

/** WORKFLOW_CALL_TIMEOUT_MS of the api processes on the cluster profile (unless set already). */
export const CLUSTER_WORKFLOW_CALL_TIMEOUT_MS = 60_000;

/** Global setup on the cluster profile: the infrastructure up, its addresses in the environment. */
export async function useClusterProfile(): Promise<void> {
  const logDir = process.env.TEST_LOG_DIR ?? '/tmp/concert-test-logs';
  mkdirSync(logDir, { recursive: true });
  const log = path.join(logDir, 'cluster-profile.log');
  setProgressSink((msg) => appendFileSync(log, `${new Date().toISOString()} ${msg}\n`));
  const infra = await startClusterInfra({ uiPort: false });
  holder.__clusterInfra = infra;
  process.env.TEST_TEMPORAL_ADDRESS = infra.temporalAddress;
  process.env.REDIS_CLUSTER_NODES = infra.redisNodes.join(',');
  // The whole cluster (four Temporal services, PostgreSQL, three Redis nodes) and the tests' own
  // apis and workers share two cores at nice 19 with other users' work: a burst of 100 holds
  // then needs longer than the API's 10 s default to be answered, though every hold succeeds
  // (docs/scaling.md, "The integration tier on the cluster profile"). Raised here so a slow
  // box is not reported as a failure; the counts the tests assert stay exact.
  process.env.WORKFLOW_CALL_TIMEOUT_MS ??= String(CLUSTER_WORKFLOW_CALL_TIMEOUT_MS);
  process.stdout.write(
    `\n[cluster profile] Temporal ${infra.temporalAddress} (${infra.numHistoryShards} history shards, 4 service processes), ` +
      `Redis Cluster ${infra.redisNodes.join(' ')}, WORKFLOW_CALL_TIMEOUT_MS=${process.env.WORKFLOW_CALL_TIMEOUT_MS}; ` +
      `progress in ${log}\n`,
  );
}

/** Global teardown: stops what the setup started (infrastructure found running is left running). */
export async function stopClusterProfile(): Promise<void> {
  await holder.__clusterInfra?.stop();
}

/**
 * `describe` unless the run is on the cluster profile, where the block is skipped and the reason
 * printed (tests that restart or proxy a single-process service have no counterpart there).
 */
export function describeUnlessCluster(reason: string): jest.Describe {
  if (!onClusterProfile()) return describe;
  process.stdout.write(`[cluster profile] skipped: ${reason}\n`);
  return describe.skip;
}
