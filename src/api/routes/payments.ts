import { Router } from 'express';
import { z } from 'zod';
import { pay } from '../../money/checkout-flow';
import { pageQuery } from '../../db/paging';
import { listPayments } from '../../money/queries';
import type { AppDeps } from '../deps';
import { authenticate, requireToken } from '../gate';
import { receivedAt } from '../received';
import { checkParams, idempotencyKey, parse, uuid } from '../validation';

const userParams = z.object({ userId: uuid });

/** `{"reservationId"}` (v1) or `{"reservationIds": [...]}`: 1 to MAX_HOLDS_PER_USER distinct ids. */
const payBody = (maxHolds: number) =>
  z
    .strictObject({
      reservationId: uuid.optional(),
      reservationIds: z
        .array(uuid)
        .min(1)
        .max(maxHolds)
        .refine((ids) => new Set(ids.map((id) => id.toLowerCase())).size === ids.length, 'must not repeat an id')
        .optional(),
    })
    .refine((body) => (body.reservationId === undefined) !== (body.reservationIds === undefined), {
      message: 'give either reservationId or reservationIds',
      path: ['reservationIds'],
    })
    // Stored ids are lower case, and workflows compare exactly.
    .transform((body) => (body.reservationIds ?? [body.reservationId ?? '']).map((id) => id.toLowerCase()));

/** `POST /v1/payments` (the steps live in src/money/checkout-flow.ts) and `GET /v1/users/:userId/payments`. */
export function paymentsRouter(deps: AppDeps): Router {
  const router = Router();
  const body = payBody(deps.config.maxHoldsPerUser);

  router.post('/payments', async (req, res) => {
    // A hold is judged by when the request reached this process, not by when its turn came.
    const arrivedAt = receivedAt(req);
    const payer = await authenticate(deps, req.headers.authorization);
    const order = {
      reservationIds: parse(body, req.body),
      arrivedAt,
    };
    const key = idempotencyKey(req.header('Idempotency-Key'));
    res.status(201).json(await pay(deps, payer, key ? { ...order, idempotencyKey: key } : order));
  });

  router.get(
    '/users/:userId/payments',
    checkParams(userParams),
    requireToken(deps, { allow: ['WAITING', 'ACTIVE'], userParam: 'userId' }),
    async (req, res) => {
      const { userId } = parse(userParams, req.params, 'path');
      const { items, nextCursor } = await listPayments(deps.dataSource, userId, parse(pageQuery, req.query, 'query'));
      res.json({ payments: items, nextCursor });
    },
  );

  return router;
}
