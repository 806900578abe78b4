import { DataSource } from 'typeorm';
import { InitialSchema1764201600000 } from './migrations/1764201600000-InitialSchema';
import { BoxOffice1764460800000 } from './migrations/1764460800000-BoxOffice';
import { PaymentToken1764806400000 } from './migrations/1764806400000-PaymentToken';

export const migrations = [InitialSchema1764201600000, BoxOffice1764460800000, PaymentToken1764806400000];

interface PooledConnection {
  query(sql: string, callback: (err: Error | null) => void): unknown;
  destroy(): void;
}

interface MysqlPool {
  on(event: 'connection', listener: (connection: PooledConnection) => void): unknown;
}

export interface DataSourceOptions {
  url: string;
  poolSize?: number;
}

/**
 * What every pooled connection runs once when it opens: the session clock in UTC, so
 * `CURRENT_TIMESTAMP` defaults and any server-side time agree with the UTC values the code
 * passes in, whatever the server's own zone (a server in Seoul runs at +09:00); and READ
 * COMMITTED, so locking reads see the latest commit without gap locks and a transaction needs
 * no extra round trip to set it.
 */
export const SESSION_SETUP = ["SET time_zone = '+00:00'", 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'];

/**
 * A MySQL/MariaDB DataSource (raw SQL through the pool; no entities). Times travel as UTC;
 * BIGINT columns come back as strings (`supportBigNumbers`), and callers convert won amounts
 * with `Number()` (they stay far below 2^53).
 */
export function createDataSource({ url, poolSize = 20 }: DataSourceOptions): DataSource {
  const dataSource = new DataSource({
    type: 'mysql',
    url,
    migrations,
    synchronize: false,
    migrationsRun: false,
    timezone: 'Z',
    // DATE columns stay 'YYYY-MM-DD' strings; DATETIME columns become Dates.
    dateStrings: ['DATE'],
    supportBigNumbers: true,
    bigNumberStrings: true,
    poolSize,
    extra: {
      connectionLimit: poolSize,
      waitForConnections: true,
      queueLimit: 0,
      enableKeepAlive: true,
      // Lets readThenWrite (sql.ts) send a transaction's statements in two round trips. Every value
      // still travels as a placeholder, escaped by mysql2; no SQL is ever built from input.
      multipleStatements: true,
    },
    logging: false,
  });
  // Every connection the pool opens, including the one TypeORM opens to check the credentials,
  // runs the session set-up before any other query (mysql2 emits `connection` first).
  const driver = dataSource.driver as unknown as { mysql: { createPool(options: unknown): MysqlPool } };
  const mysql = driver.mysql;
  driver.mysql = {
    ...mysql,
    createPool: (options: unknown) => {
      const pool = mysql.createPool(options);
      pool.on('connection', (connection: PooledConnection) => {
        // A connection that cannot be set up is not used: its first query then fails loudly.
        for (const statement of SESSION_SETUP) {
          connection.query(statement, (err: Error | null) => {
            if (err) connection.destroy();
          });
        }
      });
      return pool;
    },
  };
  return dataSource;
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
