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
