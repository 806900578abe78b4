import { z } from 'zod';

/** Page size when `?limit` is absent, and the largest one allowed. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** `?limit=1..200&before=<cursor>` of the history and payment lists. */
export const pageQuery = z.object({
  limit: z.coerce
    .number({ error: `must be an integer from 1 to ${MAX_PAGE_SIZE}` })
    .int({ error: `must be an integer from 1 to ${MAX_PAGE_SIZE}` })
    .min(1, { error: `must be an integer from 1 to ${MAX_PAGE_SIZE}` })
    .max(MAX_PAGE_SIZE, { error: `must be an integer from 1 to ${MAX_PAGE_SIZE}` })
    .default(DEFAULT_PAGE_SIZE),
  before: z
    .string({ error: 'must be a nextCursor from an earlier page' })
    .regex(/^[1-9][0-9]{0,17}$/, { error: 'must be a nextCursor from an earlier page' })
    .optional(),
});

/** One page of a newest-first list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit: number;
  /** Cursor from a previous page: only items older than it. */
  before?: string;
}

/**
 * Cuts `rows` (fetched with `LIMIT limit + 1`, newest first) to a page. The cursor is a row id
 * that only grows, so "older than" is "id below", served by an index without a sort.
 */
export function page<R extends { cursor: string | number }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: more && last ? String(last.cursor) : null };
}
