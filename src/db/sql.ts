import type { DataSource, EntityManager } from 'typeorm';

/** Anything that runs SQL: the pool, or a transaction's manager. */
export type Queryable = Pick<DataSource | EntityManager, 'query'>;

/** What mysql2 answers to INSERT / UPDATE / DELETE. */
export interface ResultHeader {
  affectedRows: number;
}

/** MySQL error numbers the service reacts to. */
export const MysqlErrno = {
  DUP_ENTRY: 1062,
  /** A foreign key names a row that does not exist. */
  NO_REFERENCED_ROW: 1452,
  LOCK_WAIT_TIMEOUT: 1205,
  LOCK_DEADLOCK: 1213,
} as const;

const errnoOf = (err: unknown): unknown => {
  const e = err as { errno?: unknown; driverError?: { errno?: unknown } };
  return e.errno ?? e.driverError?.errno;
};

export const isDuplicateKey = (err: unknown): boolean => errnoOf(err) === MysqlErrno.DUP_ENTRY;
export const isMissingParent = (err: unknown): boolean => errnoOf(err) === MysqlErrno.NO_REFERENCED_ROW;

/** The whole transaction was rolled back by InnoDB and may simply run again. */
export const isTransient = (err: unknown): boolean =>
  errnoOf(err) === MysqlErrno.LOCK_DEADLOCK || errnoOf(err) === MysqlErrno.LOCK_WAIT_TIMEOUT;

/**
 * Runs `work` in one transaction (READ COMMITTED, set on every pooled connection: locking reads
 * see the latest commit, and no gap locks), running it again if InnoDB picked it as a deadlock
 * victim or its lock wait timed out: both roll the whole transaction back, so nothing of the
 * failed attempt remains.
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (tx: EntityManager) => Promise<T>,
  attempts = 4,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction(work);
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw err;
    }
  }
}

/** One SQL statement and its placeholder values. */
export interface Statement {
  sql: string;
  params: readonly unknown[];
}

/** What {@link readThenWrite}'s decision returns: the writes to commit (maybe none) and the answer. */
export interface Decision<T> {
  writes: readonly Statement[];
  result: T;
  /**
   * Checks what each write reported before anything commits (a guarded UPDATE that changed no
   * row means the rows are not what the reads saw); throwing rolls back. It costs the COMMIT a
   * round trip of its own.
   */
  check?: (results: readonly ResultHeader[]) => void;
}

interface PooledConnection {
  query(sql: string, values: readonly unknown[], callback: (err: Error | null, result: unknown) => void): void;
  release(): void;
  destroy(): void;
}

interface ConnectionPool {
  getConnection(callback: (err: Error | null, connection: PooledConnection) => void): void;
}

/** mysql2's pool under the DataSource (its session set-up and UTC handling included). */
const poolOf = (dataSource: DataSource): ConnectionPool =>
  (dataSource.driver as unknown as { pool: ConnectionPool }).pool;

const connect = (pool: ConnectionPool): Promise<PooledConnection> =>
  new Promise((resolve, reject) => pool.getConnection((err, c) => (err ? reject(err) : resolve(c))));

const send = (connection: PooledConnection, sql: string, params: readonly unknown[]): Promise<unknown> =>
  new Promise((resolve, reject) => connection.query(sql, params, (err, r) => (err ? reject(err) : resolve(r))));

/**
 * A transaction made of locking reads and the writes that follow from what they read, in two
 * round trips instead of one per statement: `START TRANSACTION` travels with the reads, and the
 * writes travel with the `COMMIT`. On a hot path such as a charge or a payment this is most of
 * the cost: each statement is a socket write and a reply to parse on both sides, and each round
 * trip waits for MariaDB to be scheduled, which on a busy machine takes longer than the work.
 *
 * `decide` gets the rows of each read, in order, and returns the writes (none: the transaction
 * ends without writing) with the answer, or throws, which rolls back. A write that fails (a
 * duplicate key, say) stops the batch and rolls back the whole transaction too. Like
 * {@link inTransaction}, a deadlock victim or a lock wait timeout runs it all again.
 */
export async function readThenWrite<T>(
  dataSource: DataSource,
  reads: readonly Statement[],
  decide: (rows: unknown[][]) => Decision<T>,
  attempts = 4,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readThenWriteOnce(poolOf(dataSource), reads, decide);
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw err;
    }
  }
}

/** Statements sent as one query, and the result of each (mysql2 unwraps a single statement's). */
async function batch(connection: PooledConnection, statements: readonly Statement[]): Promise<unknown[]> {
  const sql = statements.map((st) => st.sql).join(';\n');
  const results = await send(
    connection,
    sql,
    statements.flatMap((st) => st.params),
  );
  return statements.length === 1 ? [results] : (results as unknown[]);
}

const COMMIT: Statement = { sql: 'COMMIT', params: [] };

async function readThenWriteOnce<T>(
  pool: ConnectionPool,
  reads: readonly Statement[],
  decide: (rows: unknown[][]) => Decision<T>,
): Promise<T> {
  const connection = await connect(pool);
  try {
    const [, ...rows] = await batch(connection, [{ sql: 'START TRANSACTION', params: [] }, ...reads]);
    const { writes, result, check } = decide(rows as unknown[][]);
    if (check && writes.length > 0) {
      check((await batch(connection, writes)) as ResultHeader[]);
      await batch(connection, [COMMIT]);
    } else {
      await batch(connection, [...writes, COMMIT]);
    }
    connection.release();
    return result;
  } catch (err) {
    // Whatever ran of the batch is undone; a connection that cannot even roll back is dropped.
    await send(connection, 'ROLLBACK', []).then(
      () => connection.release(),
      () => connection.destroy(),
    );
    throw err;
  }
}
