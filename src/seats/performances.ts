import type { Queryable } from '../db/sql';
import { concertNotFound, dateNotFound, salesClosed } from '../shared/errors';

/** Today's date in UTC, `YYYY-MM-DD`: performances before it are closed (API.md v1.1). */
export const todayUtc = (nowMs = Date.now()): string => new Date(nowMs).toISOString().slice(0, 10);

/** `SALES_CLOSED` for a performance whose date is before today (UTC). */
export function assertOnSale(date: string, nowMs = Date.now()): void {
  if (date < todayUtc(nowMs)) throw salesClosed(date);
}

/**
 * Finds the performance (concert date) a request names. Performances never change once
 * created, so found ids are kept for the life of the process; misses are not kept, so a
 * concert created a moment later is found. Concurrent lookups of one key share a query.
 */
export class PerformanceLookup {
  private readonly found = new Map<string, Promise<string | null>>();

  constructor(private readonly db: Queryable) {}

  /** The performance id, or null when the concert has no such date (or does not exist). */
  async find(concertId: string, date: string): Promise<string | null> {
    const key = `${concertId}|${date}`;
    let pending = this.found.get(key);
    if (!pending) {
      pending = this.query(concertId, date);
      this.found.set(key, pending);
      pending.then(
        (id) => {
          if (id === null) this.found.delete(key);
        },
        () => this.found.delete(key),
      );
    }
    return pending;
  }

  /**
   * The performance id, or a non-retryable `CONCERT_NOT_FOUND` / `DATE_NOT_FOUND` failure
   * (the API maps both to 404).
   */
  async require(concertId: string, date: string): Promise<string> {
    const id = await this.find(concertId, date);
    if (id !== null) return id;
    if (await concertExists(this.db, concertId)) throw dateNotFound(concertId, date);
    throw concertNotFound(concertId);
  }

  private async query(concertId: string, date: string): Promise<string | null> {
    const rows: Array<{ id: string }> = await this.db.query(
      'SELECT id FROM performances WHERE concert_id = ? AND date = ?',
      [concertId, date],
    );
    return rows[0]?.id ?? null;
  }
}

export async function concertExists(db: Queryable, concertId: string): Promise<boolean> {
  const rows: unknown[] = await db.query('SELECT 1 FROM concerts WHERE id = ?', [concertId]);
  return rows.length > 0;
}
