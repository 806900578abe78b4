import type { DataSource, EntityManager } from 'typeorm';

/** Anything that runs SQL: the pool, or a transaction's manager. */
export type Queryable = Pick<DataSource | EntityManager, 'query'>;

/** What mysql2 answers to INSERT / UPDATE / DELETE. */
export interface ResultHeader {
  affectedRows: number;
}

/** A `SELECT balance FROM users` row (BIGINT comes back as a string). */
export interface BalanceRow {
  balance: string;
}

/** MySQL error numbers this module reacts to. */
export const MysqlErrno = {
  DUP_ENTRY: 1062,
  LOCK_WAIT_TIMEOUT: 1205,
  LOCK_DEADLOCK: 1213,
} as const;

const errnoOf = (err: unknown): unknown => {
  const e = err as { errno?: unknown; driverError?: { errno?: unknown } };
  return e.errno ?? e.driverError?.errno;
};

export const isDuplicateKey = (err: unknown): boolean => errnoOf(err) === MysqlErrno.DUP_ENTRY;

/** The whole transaction was rolled back by InnoDB and may simply run again. */
export const isTransient = (err: unknown): boolean =>
  errnoOf(err) === MysqlErrno.LOCK_DEADLOCK || errnoOf(err) === MysqlErrno.LOCK_WAIT_TIMEOUT;

/**
 * Runs `work` in one READ COMMITTED transaction (locking reads see the latest commit, and no
 * gap locks), running it again if InnoDB picked it as a deadlock victim or its lock wait timed
 * out: both roll the whole transaction back, so nothing of the failed attempt remains.
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (tx: EntityManager) => Promise<T>,
  attempts = 4,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction('READ COMMITTED', work);
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw err;
    }
  }
}
