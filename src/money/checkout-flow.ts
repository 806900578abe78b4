import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { QueueService } from '../queue/service';
import { SeatState } from '../seats/seat-state';
import { tokenNotActive } from '../shared/errors';
import type { CheckoutRequest, CheckoutResult, PaymentView, QueueStatus } from '../shared/types';
import { readIdempotencyKey, replayOf, requestHash } from './idempotency';
import { checkout } from './payment';
import type { SettlementNotices } from './settlement-notices';

export interface CheckoutDeps {
  dataSource: DataSource;
  queue: Pick<QueueService, 'complete'>;
  seatState: Pick<SeatState, 'settle'>;
  settlementNotices: Pick<SettlementNotices, 'send'>;
}

/** The payer, as the gate read their queue token. */
export interface Payer {
  userId: string;
  tokenId: string;
  status: QueueStatus;
  activeUntil: number | null;
}

export interface PaymentOrder {
  reservationIds: readonly string[];
  idempotencyKey?: string;
  /** Epoch ms the request reached the API. */
  arrivedAt: number;
}

/** The body hash an Idempotency-Key is bound to: one reservation hashes as v1's `{reservationId}`. */
const orderHash = (reservationIds: readonly string[]): string =>
  reservationIds.length === 1
    ? requestHash({ reservationId: reservationIds[0] })
    : requestHash({ reservationIds: [...reservationIds].sort() });

/** The stored 201 for this key and body, `IDEMPOTENCY_KEY_REUSED` for another body, or null. */
async function storedPayment(db: DataSource, userId: string, key: string, hash: string): Promise<PaymentView | null> {
  const record = await readIdempotencyKey(db, userId, key);
  return record ? replayOf<PaymentView>(record, key, 'PAYMENT', hash).body : null;
}

/**
 * `POST /v1/payments`: pays the payer's held reservations in one payment.
 *
 * A retry with a stored Idempotency-Key gets the first 201 at once (even with the token that
 * payment spent). Otherwise the token must be ACTIVE, and the checkout transaction runs right
 * here (src/money/payment.ts): the holds are judged by the request's arrival, the payment
 * records the token it spends (a token pays once, so two payments sent together for different
 * holds cannot both pass), and identical concurrent retries meet at the Idempotency-Key row.
 * Then the token is spent in Redis and the seat pre-filter updated, before the 201. The
 * workflows hear of it right after, off the answer's path ({@link SettlementNotices}): MySQL
 * already guards every release, so the answer never waits for Temporal.
 */
export async function pay(deps: CheckoutDeps, payer: Payer, order: PaymentOrder): Promise<PaymentView> {
  const { userId } = payer;
  const key = order.idempotencyKey;
  const hash = orderHash(order.reservationIds);
  if (key) {
    const stored = await storedPayment(deps.dataSource, userId, key, hash);
    if (stored) return stored;
  }
  if (payer.status !== 'ACTIVE' || payer.activeUntil === null) throw tokenNotActive(payer.status);

  const result = await checkoutAndSpend(deps, {
    userId,
    tokenId: payer.tokenId,
    reservationIds: [...order.reservationIds],
    arrivedAt: order.arrivedAt,
    paymentId: randomUUID(),
    ...(key ? { idempotencyKey: key, requestHash: hash } : {}),
  });
  deps.settlementNotices.send(userId, payer.tokenId, result.settled);
  return result.payment;
}

/**
 * The checkout transaction, then the token spent in Redis and the seat pre-filter updated:
 * what the API does before its 201, and what the entry workflow's `checkout` update runs for
 * API processes of the previous version. Idempotent under retries.
 */
export async function checkoutAndSpend(
  deps: Pick<CheckoutDeps, 'dataSource' | 'queue' | 'seatState'>,
  request: CheckoutRequest,
): Promise<CheckoutResult> {
  const result = await checkout(deps.dataSource, request);
  await deps.queue.complete(request.userId, request.tokenId);
  await SeatState.quietly(() => deps.seatState.settle(result.settled));
  return result;
}
