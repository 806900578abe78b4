import { createHash } from 'node:crypto';
import type { Queryable, Statement } from '../db/sql';
import { idempotencyKeyReused } from '../shared/errors';

/** What an Idempotency-Key was first used for (`idempotency_keys.operation`). */
export type IdempotentOperation = 'CHARGE' | 'PAYMENT';

/** A stored first result, replayed to every retry with the same key and body. */
export interface StoredResponse<T = unknown> {
  status: number;
  body: T;
}

/** An `idempotency_keys` row. */
export interface IdempotencyRecord {
  operation: IdempotentOperation;
  requestHash: string;
  /** Written with the row, in the transaction of the effect; null would mean a damaged row. */
  response: StoredResponse | null;
}

/** An `idempotency_keys` row as read; its columns are null when read through an outer join that found none. */
export interface IdempotencyRow {
  operation: IdempotentOperation | null;
  request_hash: string | null;
  response_status: number | null;
  response_body: unknown;
}

/** The columns of {@link IdempotencyRow}, for a query that reads the key as table alias `k`. */
export const IDEMPOTENCY_COLUMNS = 'k.operation, k.request_hash, k.response_status, k.response_body';

/** JSON with object keys sorted, so that `{a, b}` and `{b, a}` hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `request_hash`: hex SHA-256 of the validated body in canonical JSON. */
export const requestHash = (body: Record<string, unknown>): string =>
  createHash('sha256').update(canonicalJson(body)).digest('hex');

// MariaDB's JSON is LONGTEXT, so mysql2 hands it back as a string.
const parseBody = (raw: unknown): unknown => (typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw);

/** The user's stored key, or null (a plain read, outside any transaction). */
export async function readIdempotencyKey(
  db: Queryable,
  userId: string,
  key: string,
): Promise<IdempotencyRecord | null> {
  const rows = await db.query<IdempotencyRow[]>(
    `SELECT ${IDEMPOTENCY_COLUMNS} FROM idempotency_keys k WHERE k.user_id = ? AND k.idempotency_key = ?`,
    [userId, key],
  );
  return rows[0] ? recordOf(rows[0]) : null;
}

/** The record in a row read with {@link IDEMPOTENCY_COLUMNS}, or null when the join found no key. */
export function recordOf(row: IdempotencyRow): IdempotencyRecord | null {
  if (row.operation === null || row.request_hash === null) return null;
  return {
    operation: row.operation,
    requestHash: row.request_hash,
    response:
      row.response_status === null ? null : { status: Number(row.response_status), body: parseBody(row.response_body) },
  };
}

/**
 * Records `key` with its result in one statement, for a transaction that already holds the
 * user's row lock (every use of a user's keys takes it first, so no other transaction can be
 * inserting the same key meanwhile; if one did, the duplicate key fails the whole transaction).
 */
export const insertIdempotentResponse = (
  claim: { userId: string; key: string; operation: IdempotentOperation; requestHash: string },
  response: StoredResponse,
): Statement => ({
  sql: `INSERT INTO idempotency_keys (user_id, idempotency_key, operation, request_hash, response_status, response_body)
        VALUES (?, ?, ?, ?, ?, ?)`,
  params: [claim.userId, claim.key, claim.operation, claim.requestHash, response.status, JSON.stringify(response.body)],
});

/**
 * The stored response to replay for a retry of `operation` with body hash `hash`, or
 * `IDEMPOTENCY_KEY_REUSED` when the key was first used for another operation or body.
 */
export function replayOf<T>(
  record: IdempotencyRecord,
  key: string,
  operation: IdempotentOperation,
  hash: string,
): StoredResponse<T> {
  if (record.operation !== operation || record.requestHash !== hash) throw idempotencyKeyReused(key);
  // Committed rows always carry their response (it is written before the commit).
  if (!record.response) throw new Error(`Idempotency-Key ${key} has no stored response`);
  return record.response as StoredResponse<T>;
}
