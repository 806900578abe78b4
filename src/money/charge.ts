import type { DataSource } from 'typeorm';
import { isDuplicateKey, readThenWrite } from '../db/sql';
import type { Decision, Statement } from '../db/sql';
import { balanceLimitExceeded } from '../shared/errors';
import { IDEMPOTENCY_COLUMNS, insertIdempotentResponse, recordOf, replayOf, requestHash } from './idempotency';
import type { IdempotencyRow } from './idempotency';

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

type UserAndKeyRow = { balance: string } & IdempotencyRow;

/**
 * Locks the user's row and reads, in the same statement, the Idempotency-Key row if there is
 * one. Lock order user → idempotency row, as in payment.ts: every use of a user's keys takes
 * the user's lock first, so a retry with the same key waits here for the first to commit and
 * then finds its row.
 */
const lockUserAndKey = (userId: string, key: string | undefined): Statement => ({
  sql: `SELECT u.balance, ${IDEMPOTENCY_COLUMNS}
          FROM users u LEFT JOIN idempotency_keys k ON k.user_id = u.id AND k.idempotency_key = ?
         WHERE u.id = ? FOR UPDATE`,
  params: [key ?? null, userId],
});

/** What the locked row calls for: a replay, a refusal (thrown), or the writes of the charge. */
function decideCharge(
  rows: UserAndKeyRow[],
  request: ChargeRequest,
  limits: ChargeLimits,
): Decision<BalanceView | typeof NO_USER> {
  const { userId, amount, idempotencyKey: key } = request;
  const [row] = rows;
  if (!row) return { writes: [], result: NO_USER };
  const hash = requestHash({ amount });
  const first = key ? recordOf(row) : null;
  if (key && first) return { writes: [], result: replayOf<BalanceView>(first, key, 'CHARGE', hash).body };
  // The row is locked, so this is exactly the balance the update commits.
  const balance = Number(row.balance) + amount;
  if (balance > limits.maxBalance) throw balanceLimitExceeded(amount, limits.maxBalance);
  const view: BalanceView = { userId, balance };
  const writes: Statement[] = [
    { sql: 'UPDATE users SET balance = ? WHERE id = ?', params: [balance, userId] },
    {
      sql: `INSERT INTO ledger_entries (user_id, type, amount, balance_after, created_at)
            VALUES (?, 'CHARGE', ?, ?, ?)`,
      params: [userId, amount, balance, new Date()],
    },
  ];
  if (key) {
    writes.push(
      insertIdempotentResponse({ userId, key, operation: 'CHARGE', requestHash: hash }, { status: 200, body: view }),
    );
  }
  return { writes, result: view };
}

/**
 * Adds `amount` to the user's balance in one transaction of two round trips: the user's row
 * locked and its Idempotency-Key read, then the new balance, a CHARGE ledger row and the stored
 * response written with the COMMIT. A retry with a key already used replays the stored answer;
 * refusals roll everything back and store nothing. A user that does not exist yet is created
 * with balance 0 first.
 *
 * @throws ApplicationFailure `BALANCE_LIMIT_EXCEEDED` (400) or `IDEMPOTENCY_KEY_REUSED` (409)
 */
export async function chargeBalance(
  dataSource: DataSource,
  request: ChargeRequest,
  limits: ChargeLimits,
): Promise<BalanceView> {
  const read = lockUserAndKey(request.userId, request.idempotencyKey);
  const attempt = (): Promise<BalanceView | typeof NO_USER> =>
    readThenWrite(dataSource, [read], ([rows]) => decideCharge(rows as UserAndKeyRow[], request, limits));
  // A duplicate key means the key was recorded by a transaction that did not take the user's
  // lock first; the rolled-back charge runs again and replays that one's answer.
  const charge = async (): Promise<BalanceView | typeof NO_USER> => {
    try {
      return await attempt();
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return attempt();
    }
  };
  const result = await charge();
  if (result !== NO_USER) return result;
  // Outside the transaction: INSERT IGNORE on an existing row would take a shared lock that
  // a concurrent charge's exclusive lock then deadlocks against.
  await dataSource.query('INSERT IGNORE INTO users (id, balance) VALUES (?, 0)', [request.userId]);
  const retried = await charge();
  if (retried === NO_USER) throw new Error(`User ${request.userId} could not be created`);
  return retried;
}
