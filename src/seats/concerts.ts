import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';

/** Seats per performance date (API.md: 1–50). */
export const SEATS_PER_DATE = 50;

export interface NewConcert {
  title: string;
  /** Distinct YYYY-MM-DD dates. */
  dates: string[];
  /** Price of every seat not named in `prices`. */
  price?: number;
  /** Price per seat number; overrides `price`. */
  prices?: Record<number, number>;
}

export interface CreatedConcert {
  concertId: string;
  /** Ascending. */
  dates: string[];
}

/** Thrown when some seat would end up without a price. */
export class MissingPriceError extends Error {
  override name = 'MissingPriceError';
}

/** The price of each seat 1–50, or MissingPriceError naming the first seat without one. */
export function seatPrices(input: Pick<NewConcert, 'price' | 'prices'>): number[] {
  return Array.from({ length: SEATS_PER_DATE }, (_, i) => {
    const price = input.prices?.[i + 1] ?? input.price;
    if (price === undefined) throw new MissingPriceError(`prices.${i + 1}: seat ${i + 1} has no price`);
    return price;
  });
}

/** Creates the concert, one performance per date and seats 1–50 on each, in one transaction. */
export async function createConcert(dataSource: DataSource, input: NewConcert): Promise<CreatedConcert> {
  const prices = seatPrices(input);
  const concertId = randomUUID();
  const dates = [...new Set(input.dates)].sort();
  await dataSource.transaction(async (tx) => {
    await tx.query('INSERT INTO concerts (id, title) VALUES (?, ?)', [concertId, input.title]);
    for (const date of dates) {
      const performanceId = randomUUID();
      await tx.query('INSERT INTO performances (id, concert_id, date) VALUES (?, ?, ?)', [
        performanceId,
        concertId,
        date,
      ]);
      const placeholders = prices.map(() => '(?, ?, ?)').join(', ');
      await tx.query(
        `INSERT INTO seats (performance_id, seat_no, price) VALUES ${placeholders}`,
        prices.flatMap((price, i) => [performanceId, i + 1, price]),
      );
    }
  });
  return { concertId, dates };
}
