import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { createDataSource, migrate } from './data-source';

/** `npm run migrate`: applies pending migrations to DATABASE_URL. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config, 'migrate');
  const ds = createDataSource({ url: config.databaseUrl, poolSize: 2 });
  await ds.initialize();
  try {
    const applied = await migrate(ds);
    log.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
  } finally {
    await ds.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
