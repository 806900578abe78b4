import { createHash, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { checkoutUpdate } from '../shared/definitions';
import { ErrorType, errorTypeOf, tokenNotActive } from '../shared/errors';
import { queueEntryWorkflowId } from '../shared/ids';
import type { CheckoutRequest, PaymentView, QueueEntryInput, QueueStatus } from '../shared/types';
import { callAfterRunEnds } from '../temporal';
import { readIdempotencyKey, replayOf, requestHash } from './idempotency';
import { ledgerHead } from './queries';

export interface CheckoutDeps {
  dataSource: DataSource;
  temporal: Client;
  config: { taskQueue: string };
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
 * payment spent). Otherwise the token must be ACTIVE, and the payment is the `checkout` update
 * of the payer's entry workflow (update-with-start, so an entry whose workflow the admission
 * has not started yet still works), whose local activity runs the transaction: one task-queue
 * round trip. Identical concurrent retries share one update id, so Temporal runs the update
 * once and hands all of them its outcome; the ledger head is part of the id because Temporal
 * also keeps a failed outcome (after a 402 and a charge, the retry must run again).
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

  const request: CheckoutRequest = {
    userId,
    tokenId: payer.tokenId,
    reservationIds: [...order.reservationIds],
    arrivedAt: order.arrivedAt,
    ...(key ? { idempotencyKey: key, requestHash: hash } : {}),
  };
  const updateId = key
    ? createHash('sha256')
        .update(['checkout', userId, key, hash, await ledgerHead(deps.dataSource, userId)].join('\0'))
        .digest('hex')
    : randomUUID();
  const entry: QueueEntryInput = { userId, tokenId: payer.tokenId, activeUntil: payer.activeUntil };
  const run = (): Promise<PaymentView> =>
    deps.temporal.workflow.executeUpdateWithStart(checkoutUpdate, {
      args: [request],
      updateId,
      startWorkflowOperation: new WithStartWorkflowOperation('queueEntryWorkflow', {
        workflowId: queueEntryWorkflowId(userId),
        taskQueue: deps.config.taskQueue,
        args: [entry],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      }),
    });
  try {
    // The run of the user's previous entry may still be ending: then wait for it and start ours.
    return await callAfterRunEnds(
      deps.temporal,
      queueEntryWorkflowId(userId),
      run,
      (err) => errorTypeOf(err) === ErrorType.ENTRY_SUPERSEDED,
    );
  } catch (err) {
    // If this request's key was committed meanwhile (a concurrent retry won), its answer is the answer.
    if (key && errorTypeOf(err) === ErrorType.RESERVATION_NOT_HELD) {
      const stored = await storedPayment(deps.dataSource, userId, key, hash);
      if (stored) return stored;
    }
    throw err;
  }
}
