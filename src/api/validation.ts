import { z } from 'zod';
import type { RequestHandler } from 'express';
import { badRequest } from './errors';

/** A real calendar date written YYYY-MM-DD (2026-02-30 is refused). */
export const isoDate = z.string().refine((value) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}, 'must be a real date written YYYY-MM-DD');

/**
 * A UUID written 8-4-4-4-12 in hex, any version or variant: what OpenAPI's `format: uuid` accepts
 * (RFC 4122's syntax), so an id a client may legitimately hold is never refused as malformed.
 */
export const uuid = z.guid({ error: 'must be a UUID' });
export const seatNo = z.number({ error: 'must be an integer from 1 to 50' }).int().min(1).max(50);

/**
 * Parses `value` with `schema` or throws `400 VALIDATION_FAILED` whose message names the
 * failing field, e.g. `seatNo: Too big: expected number to be <=50`.
 */
export function parse<T>(schema: z.ZodType<T>, value: unknown, where = 'body'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length ? issue.path.join('.') : where;
  throw badRequest(`${field}: ${issue?.message ?? 'invalid'}`);
}

/** `Idempotency-Key` header, 1–64 characters, when present. */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return parse(z.string().min(1).max(64), header, 'Idempotency-Key');
}

/** Path parameters are checked before the token, so a malformed id is 400 for everyone (API.md). */
export const checkParams =
  (schema: z.ZodType): RequestHandler =>
  (req, _res, next) => {
    parse(schema, req.params, 'path');
    next();
  };
