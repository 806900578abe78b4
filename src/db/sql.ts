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
