import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { createApp } from './api/app';
import type { AppDeps } from './api/deps';
import { TokenService } from './api/tokens';
import { loadConfig } from './config';
import { createDataSource } from './db/data-source';
import { identityVerifierFor } from './identity';
import { createLogger } from './logger';
import { createRedis } from './redis/client';
import { redisKeys } from './redis/keys';
import { SettlementNotices } from './money/settlement-notices';
import { createServices } from './services';

/** API process: `npm run api`. Expects a migrated database (npm start and the tests migrate first). */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'api');
  const dataSource = createDataSource({ url: config.databaseUrl, poolSize: config.dbPoolSize });
  await dataSource.initialize();
  const redis = createRedis(config, 'api');
  // Lazy: the API starts (and reports 503 on /readyz) even while Temporal is still coming up.
  const connection = Connection.lazy({ address: config.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const deps: AppDeps = {
    ...createServices({ config, dataSource, redis, keys: redisKeys(config.redisKeyPrefix), temporal }),
    log,
    tokens: new TokenService(config.tokenSecret),
    identity: identityVerifierFor(config),
    settlementNotices: new SettlementNotices(temporal, (meta, message) => log.warn(meta, message)),
    shutdownHooks: [],
  };
  // Notices of checkouts already answered go out before the connections close.
  deps.shutdownHooks.push(() => deps.settlementNotices.drain());
  const app = createApp(deps);
  const server: Server = app.listen(config.port, () => log.info({ port: config.port }, 'API listening'));
  server.keepAliveTimeout = 65_000;

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'API shutting down');
    server.close();
    server.closeIdleConnections();
    for (const hook of deps.shutdownHooks)
      await hook().catch((err: unknown) => log.warn({ err }, 'shutdown hook failed'));
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
    await Promise.allSettled([dataSource.destroy(), redis.quit(), connection.close()]);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
