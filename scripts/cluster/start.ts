/**
 * `npm run start:cluster`: the cluster profile in the foreground (see profile.ts). Prints
 * every endpoint once it is ready; Ctrl-C (or SIGTERM) stops everything it started, in
 * reverse order. A process of the profile that dies stops the rest too.
 *
 * `-- --infra`: only PostgreSQL, the Temporal services (and UI) and the Redis Cluster, for
 * `npm run test:cluster`, the bench and the drills to reuse across their own app processes.
 */
import { startClusterInfra, startClusterProfile } from './profile';
import { LOG_DIR, say } from './proc';

async function infraOnly(): Promise<void> {
  const infra = await startClusterInfra();
  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await infra.stop();
    say('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  say(`Temporal frontend   ${infra.temporalAddress}; ${infra.numHistoryShards} history shards`);
  for (const [name, proc] of Object.entries(infra.temporal.processes)) say(`  ${name.padEnd(17)} pid ${proc.pid}`);
  say(`Redis Cluster       REDIS_CLUSTER_NODES=${infra.redisNodes.join(',')}`);
  say('infrastructure only (no api, worker or nginx); Ctrl-C stops what this run started.');
}

async function main(): Promise<void> {
  if (process.argv.includes('--infra')) return infraOnly();
  const started = Date.now();
  const profile = await startClusterProfile();
  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await profile.stop();
    say('stopped');
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  const watched = [
    ...Object.values(profile.temporal.processes),
    ...profile.redis.processes.values(),
    ...profile.apis,
    ...profile.workers,
    profile.nginx,
    ...(profile.ui ? [profile.ui] : []),
  ].filter((p) => p.owned);
  const watch = setInterval(() => {
    const dead = watched.find((p) => p.exited());
    if (dead && !stopping) {
      clearInterval(watch);
      say(`${dead.name} exited unexpectedly (see ${dead.logFile}); stopping everything`);
      void shutdown(1);
    }
  }, 1_000);

  const readyz = await fetch(profile.urls.readyz);
  const { urls } = profile;
  say(`ready in ${Math.round((Date.now() - started) / 1000)} s`);
  say(`API                 ${urls.api}  (nginx over ${urls.apis.join(', ')}; try /readyz, /docs)`);
  say(`  /readyz           ${readyz.status} ${await readyz.text()}`);
  say(
    `Temporal frontend   ${urls.temporalFrontend} (gRPC), ${urls.temporalFrontendHttp} (HTTP); ${profile.numHistoryShards} history shards`,
  );
  for (const [name, proc] of Object.entries(profile.temporal.processes)) say(`  ${name.padEnd(17)} pid ${proc.pid}`);
  say(`Temporal UI         ${urls.temporalUi ?? 'not running (see README, "Cluster profile")'}`);
  say(`Redis Cluster       ${urls.redis.join(' ')}`);
  say(`PostgreSQL          ${urls.postgres}`);
  say(`MariaDB             ${urls.mariadb}`);
  say(
    `api/worker env      ${Object.entries(profile.appEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  say(`logs                ${LOG_DIR}`);
  say('Ctrl-C stops everything this run started.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
