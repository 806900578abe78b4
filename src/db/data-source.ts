import { DataSource } from 'typeorm';
import { entities } from './entities';
import { InitialSchema1764201600000 } from './migrations/1764201600000-InitialSchema';

export const migrations = [InitialSchema1764201600000];

export interface DataSourceOptions {
  url: string;
  poolSize?: number;
}

/**
 * A MySQL/MariaDB DataSource. Times travel as UTC; BIGINT columns come back as strings
 * (`supportBigNumbers`), and callers convert won amounts with `Number()` (they stay far
 * below 2^53).
 */
export function createDataSource({ url, poolSize = 20 }: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'mysql',
    url,
    entities,
    migrations,
    synchronize: false,
    migrationsRun: false,
    timezone: 'Z',
    // DATE columns stay 'YYYY-MM-DD' strings; DATETIME columns become Dates.
    dateStrings: ['DATE'],
    supportBigNumbers: true,
    bigNumberStrings: true,
    poolSize,
    extra: { connectionLimit: poolSize, waitForConnections: true, queueLimit: 0, enableKeepAlive: true },
    logging: false,
  });
}

/**
 * Runs pending migrations. Several processes may start at once, so a named MySQL lock
 * serialises them; the later ones find nothing left to do.
 */
export async function migrate(ds: DataSource): Promise<string[]> {
  const lock = ds.createQueryRunner();
  await lock.connect();
  try {
    await lock.query("SELECT GET_LOCK('concert_reservation_migrations', 120)");
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await lock.query("SELECT RELEASE_LOCK('concert_reservation_migrations')").catch(() => undefined);
    await lock.release();
  }
}
