import type { DataSource } from 'typeorm';
import { concertNotFound } from '../shared/errors';
import { concertExists, todayUtc } from './performances';
import type { PerformanceLookup } from './performances';
import { takenSeats } from './seat-state';
import type { SeatState } from './seat-state';

/**
 * How long one API process reuses a MySQL seat query: 500 ms. A seat held in the meantime is
 * still hidden at once by the Redis overlay read on every request; the cache can only keep a
 * seat hidden (never offered) for up to this long after it was freed.
 */
export const SEAT_MAP_CACHE_MS = 500;

export interface ConcertSummary {
  concertId: string;
  title: string;
}

export interface DateAvailability {
  date: string;
  availableSeats: number;
}

export interface FreeSeat {
  seatNo: number;
  price: number;
}

/** A seat that is AVAILABLE or HELD in MySQL; whether a hold has lapsed is decided per request. */
interface OpenSeat {
  seatNo: number;
  price: number;
  /** Epoch ms the hold ends, or null when AVAILABLE. */
  holdExpiresAt: number | null;
}

interface Cached<V> {
  at: number;
  value: Promise<V>;
}

/** A per-key cache of promises that lives `ttlMs`; concurrent misses share one load. */
class ShortCache<V> {
  private readonly entries = new Map<string, Cached<V>>();

  constructor(private readonly ttlMs: number) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = load();
    const entry = { at: now, value };
    this.entries.set(key, entry);
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    if (this.entries.size > 10_000) this.evict(now);
    return value;
  }

  private evict(now: number): void {
    for (const [key, entry] of this.entries) if (now - entry.at >= this.ttlMs) this.entries.delete(key);
  }
}

interface OpenSeatRow {
  seat_no: number | string;
  price: string | number;
  hold_expires_at: Date | null;
}

const toOpenSeat = (row: OpenSeatRow): OpenSeat => ({
  seatNo: Number(row.seat_no),
  price: Number(row.price),
  holdExpiresAt: row.hold_expires_at ? row.hold_expires_at.getTime() : null,
});

/** Free at `nowMs` in MySQL's eyes: AVAILABLE, or HELD with a hold that has lapsed. */
const freeInDb = (seat: OpenSeat, nowMs: number): boolean => seat.holdExpiresAt === null || seat.holdExpiresAt <= nowMs;

/**
 * Read side of concerts and seats for the API: MySQL answers (briefly cached), overlaid with
 * the Redis seat pre-filter so a seat held a moment ago is never offered as free.
 */
export class SeatCatalog {
  private readonly seatCache: ShortCache<OpenSeat[]>;
  private readonly dateCache: ShortCache<Map<string, OpenSeat[]>>;

  constructor(
    private readonly deps: { dataSource: DataSource; seatState: SeatState; performances: PerformanceLookup },
    cacheMs = SEAT_MAP_CACHE_MS,
  ) {
    this.seatCache = new ShortCache(cacheMs);
    this.dateCache = new ShortCache(cacheMs);
  }

  async listConcerts(): Promise<ConcertSummary[]> {
    const rows: Array<{ id: string; title: string }> = await this.deps.dataSource.query(
      'SELECT id, title FROM concerts ORDER BY created_at, id',
    );
    return rows.map((r) => ({ concertId: r.id, title: r.title }));
  }

  /**
   * Dates still on sale (today or later, UTC) with at least one free seat, ascending;
   * `CONCERT_NOT_FOUND` for an unknown concert.
   */
  async listDates(concertId: string): Promise<DateAvailability[]> {
    const byDate = await this.dateCache.get(concertId, () => this.loadDates(concertId));
    if (byDate.size === 0 && !(await concertExists(this.deps.dataSource, concertId))) throw concertNotFound(concertId);
    const today = todayUtc();
    const dates = [...byDate.keys()].filter((date) => date >= today);
    // One hash per date; on a Redis Cluster each lives on the node of its performance.
    const hashes = await Promise.all(dates.map((date) => this.deps.seatState.read(concertId, date)));
    const now = Date.now();
    const result: DateAvailability[] = [];
    dates.forEach((date, i) => {
      const taken = takenSeats(hashes[i] ?? {}, now);
      const free = (byDate.get(date) ?? []).filter((s) => freeInDb(s, now) && !taken.has(s.seatNo)).length;
      if (free > 0) result.push({ date, availableSeats: free });
    });
    return result;
  }

  /** Free seats of one performance, ascending; `CONCERT_NOT_FOUND` / `DATE_NOT_FOUND` when unknown. */
  async listSeats(concertId: string, date: string): Promise<FreeSeat[]> {
    const performanceId = await this.deps.performances.require(concertId, date);
    const [seats, hash] = await Promise.all([
      this.seatCache.get(performanceId, () => this.loadSeats(performanceId)),
      this.deps.seatState.read(concertId, date),
    ]);
    const now = Date.now();
    const taken = takenSeats(hash, now);
    return seats
      .filter((s) => freeInDb(s, now) && !taken.has(s.seatNo))
      .map(({ seatNo, price }) => ({ seatNo, price }));
  }

  // Both queries read seats through idx_seats_performance_status (performance_id, status, …):
  // only AVAILABLE and HELD rows of the performance, never the sold ones.
  private async loadSeats(performanceId: string): Promise<OpenSeat[]> {
    const rows: OpenSeatRow[] = await this.deps.dataSource.query(
      `SELECT seat_no, price, CASE WHEN status = 'HELD' THEN hold_expires_at END AS hold_expires_at
         FROM seats FORCE INDEX (idx_seats_performance_status)
        WHERE performance_id = ? AND status IN ('AVAILABLE', 'HELD')
        ORDER BY seat_no`,
      [performanceId],
    );
    return rows.map(toOpenSeat);
  }

  private async loadDates(concertId: string): Promise<Map<string, OpenSeat[]>> {
    const rows: Array<OpenSeatRow & { date: string }> = await this.deps.dataSource.query(
      `SELECT p.date, s.seat_no, s.price, CASE WHEN s.status = 'HELD' THEN s.hold_expires_at END AS hold_expires_at
         FROM performances p
         JOIN seats s FORCE INDEX (idx_seats_performance_status)
           ON s.performance_id = p.id AND s.status IN ('AVAILABLE', 'HELD')
        WHERE p.concert_id = ?
        ORDER BY p.date, s.seat_no`,
      [concertId],
    );
    const byDate = new Map<string, OpenSeat[]>();
    for (const row of rows) {
      const list = byDate.get(row.date) ?? [];
      list.push(toOpenSeat(row));
      byDate.set(row.date, list);
    }
    return byDate;
  }
}
