import { createHash, randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { readIdempotencyKey, replayOf, requestHash } from '../../money/idempotency';
import { pageQuery } from '../../money/paging';
import { findReservationRef, ledgerHead, listPayments } from '../../money/queries';
import { payUpdate } from '../../shared/definitions';
import { ErrorType } from '../../shared/errors';
import { reservationWorkflowId } from '../../shared/ids';
import type { PaymentView, PayRequest } from '../../shared/types';
import { withWorkflowDeadline } from '../deadline';
import type { AppDeps } from '../deps';
import { domainError, HttpError } from '../errors';
import { authenticate } from '../gate';
import { idempotencyKey, parse, uuid } from '../validation';
import { checkUserIdParam, requireOwnToken } from './balance';

const payBody = z.strictObject({ reservationId: uuid });

/** The reservation id of a payment body; stored ids are lower case and the workflow compares exactly. */
const reservationIdOf = (body: unknown): string => parse(payBody, body).reservationId.toLowerCase();

const notFound = (): HttpError => new HttpError(404, 'RESERVATION_NOT_FOUND', 'No such reservation');
const notHeld = (): HttpError =>
  new HttpError(409, 'RESERVATION_NOT_HELD', 'The reservation is no longer held (expired, cancelled or paid)');

/**
 * `POST /v1/payments` and `GET /v1/users/:userId/payments`.
 *
 * A payment is the `pay` update of the seat's reservation workflow, which runs the payment
 * activity and then spends the queue token. Retries with the same Idempotency-Key and body
 * get the first 201 again: from the stored row when it exists (even once the token is
 * COMPLETED by that very payment), otherwise by attaching to the same update.
 */
export function paymentsRouter(deps: AppDeps): Router {
  const router = Router();

  /** The stored 201 for this key and body, `409 IDEMPOTENCY_KEY_REUSED` for another body, or null. */
  const storedPayment = async (userId: string, key: string, hash: string): Promise<PaymentView | null> => {
    const record = await readIdempotencyKey(deps.dataSource, userId, key);
    return record ? replayOf<PaymentView>(record, key, 'PAYMENT', hash).body : null;
  };

  router.post('/payments', async (req, res) => {
    const auth = await authenticate(deps, req.headers.authorization);
    const { userId } = auth;
    const key = idempotencyKey(req.header('Idempotency-Key'));

    if (key) {
      // A replay needs no ACTIVE token: the token may have been spent by this very payment.
      const record = await readIdempotencyKey(deps.dataSource, userId, key);
      if (record) {
        const hash = requestHash({ reservationId: reservationIdOf(req.body) });
        res.status(201).json(replayOf<PaymentView>(record, key, 'PAYMENT', hash).body);
        return;
      }
    }
    if (auth.status !== 'ACTIVE') {
      throw new HttpError(403, 'TOKEN_NOT_ACTIVE', `The queue token is ${auth.status}; this needs ACTIVE`);
    }
    const id = reservationIdOf(req.body);
    const hash = requestHash({ reservationId: id });
    const ref = await findReservationRef(deps.dataSource, id);
    if (!ref || ref.userId !== userId) throw notFound();

    const request: PayRequest = {
      reservationId: id,
      userId,
      ...(key ? { idempotencyKey: key, requestHash: hash } : {}),
    };
    // Identical concurrent retries share one update id, so Temporal runs the update once and
    // hands all of them its outcome. The ledger head is part of the id because Temporal also
    // keeps a failed outcome: after a 402 and a charge, the retry must run again, not replay.
    const updateId = key
      ? createHash('sha256')
          .update(['pay', userId, key, hash, await ledgerHead(deps.dataSource, userId)].join('\0'))
          .digest('hex')
      : randomUUID();
    try {
      const handle = deps.temporal.workflow.getHandle(reservationWorkflowId(ref.concertId, ref.date, ref.seatNo));
      const payment = await withWorkflowDeadline(deps.temporal, () =>
        handle.executeUpdate(payUpdate, { args: [request], updateId }),
      );
      res.status(201).json(payment);
    } catch (err) {
      // The run has ended (paid, released) or belongs to a newer hold of the seat. If this
      // request's key was committed meanwhile, the first answer is the answer.
      const notRunning = err instanceof WorkflowNotFoundError;
      if (!notRunning && domainError(err)?.code !== ErrorType.RESERVATION_NOT_HELD) throw err;
      const stored = key ? await storedPayment(userId, key, hash) : null;
      if (stored) {
        res.status(201).json(stored);
        return;
      }
      throw notRunning ? notHeld() : err;
    }
  });

  router.get('/users/:userId/payments', checkUserIdParam, requireOwnToken(deps), async (req, res) => {
    const userId = req.params.userId as string;
    const { limit, before } = parse(pageQuery, req.query, 'query');
    const { items, nextCursor } = await listPayments(deps.dataSource, userId, { limit, ...(before ? { before } : {}) });
    res.json({ payments: items, nextCursor: nextCursor ?? null });
  });

  return router;
}
