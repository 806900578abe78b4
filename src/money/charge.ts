import type { DataSource, EntityManager } from 'typeorm';
import type { ResultHeader } from '../db/sql';
import { inTransaction } from '../db/sql';
import { balanceLimitExceeded } from '../shared/errors';
import { claimIdempotencyKey, replayOf, requestHash, storeIdempotentResponse } from './idempotency';
import type { BalanceRow } from './queries';

/** `{userId, balance}`: the body of the balance read and of a charge. */
export interface BalanceView {
  userId: string;
  balance: number;
}

export interface ChargeRequest {
  userId: string;
  /** Positive whole won, already checked against MAX_CHARGE_AMOUNT. */
  amount: number;
  idempotencyKey?: string;
}

export interface ChargeLimits {
  maxBalance: number;
}

const NO_USER = Symbol('no user');

async function chargeInTransaction(
  tx: EntityManager,
  request: ChargeRequest,
  limits: ChargeLimits,
): Promise<BalanceView | typeof NO_USER> {
  const { userId, amount, idempotencyKey: key } = request;
  // Lock order user → idempotency row (see payment.ts for why the user comes first).
  const [user] = await tx.query<BalanceRow[]>('SELECT balance FROM users WHERE id = ? FOR UPDATE', [userId]);
  if (!user) return NO_USER;
  if (key) {
    const hash = requestHash({ amount });
    const first = await claimIdempotencyKey(tx, { userId, key, operation: 'CHARGE', requestHash: hash });
    // Nothing is written yet, so returning here (and committing nothing) is a clean replay.
    if (first) return replayOf<BalanceView>(first, key, 'CHARGE', hash).body;
  }
  const updated = await tx.query<ResultHeader>(
    'UPDATE users SET balance = balance + ? WHERE id = ? AND balance + ? <= ?',
    [amount, userId, amount, limits.maxBalance],
  );
  if (updated.affectedRows !== 1) throw balanceLimitExceeded(amount, limits.maxBalance);
  // The row is locked since the SELECT, so this is exactly the committed balance.
  const balance = Number(user.balance) + amount;
  await tx.query(
    `INSERT INTO ledger_entries (user_id, type, amount, balance_after, created_at)
     VALUES (?, 'CHARGE', ?, ?, ?)`,
    [userId, amount, balance, new Date()],
  );
  const view: BalanceView = { userId, balance };
  if (key) await storeIdempotentResponse(tx, userId, key, { status: 200, body: view });
  return view;
}

/**
 * Adds `amount` to the user's balance in one transaction: lock the user row, claim the
 * Idempotency-Key (a concurrent request with the same key waits for the first to commit and
 * then replays its result), an atomic increment guarded by MAX_BALANCE in its WHERE clause, a
 * CHARGE ledger row, and the stored response. Refusals roll everything back. A user that does
 * not exist yet is created with balance 0 first.
 *
 * @throws ApplicationFailure `BALANCE_LIMIT_EXCEEDED` (400) or `IDEMPOTENCY_KEY_REUSED` (409)
 */
export async function chargeBalance(
  dataSource: DataSource,
  request: ChargeRequest,
  limits: ChargeLimits,
): Promise<BalanceView> {
  const result = await inTransaction(dataSource, (tx) => chargeInTransaction(tx, request, limits));
  if (result !== NO_USER) return result;
  // Outside the transaction: INSERT IGNORE on an existing row would take a shared lock that
  // a concurrent charge's exclusive lock then deadlocks against.
  await dataSource.query('INSERT IGNORE INTO users (id, balance) VALUES (?, 0)', [request.userId]);
  const retried = await inTransaction(dataSource, (tx) => chargeInTransaction(tx, request, limits));
  if (retried === NO_USER) throw new Error(`User ${request.userId} could not be created`);
  return retried;
}
