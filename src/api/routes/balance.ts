import type { RequestHandler } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import { chargeBalance } from '../../money/charge';
import { pageQuery } from '../../money/paging';
import { listLedger, readBalance } from '../../money/queries';
import type { AppDeps } from '../deps';
import { requireToken } from '../gate';
import { idempotencyKey, parse, uuid } from '../validation';

/** `:userId` must be a UUID (400) before the token is looked at. */
export const checkUserIdParam: RequestHandler = (req, _res, next) => {
  parse(z.object({ userId: uuid }), req.params, 'path');
  next();
};

/** Balance endpoints take a WAITING or ACTIVE token whose user is the path's `:userId`. */
export const requireOwnToken = (deps: AppDeps): RequestHandler =>
  requireToken(deps, { allow: ['WAITING', 'ACTIVE'], userParam: 'userId' });

const chargeBody = (maxChargeAmount: number) => {
  const error = `must be a positive integer of at most ${maxChargeAmount}`;
  return z.strictObject({
    amount: z.number({ error }).int({ error }).min(1, { error }).max(maxChargeAmount, { error }),
  });
};

/** `/v1/users/:userId/balance…`: read, charge and ledger of the bearer's own balance. */
export function balanceRouter(deps: AppDeps): Router {
  const router = Router();
  const gate = requireOwnToken(deps);
  const body = chargeBody(deps.config.maxChargeAmount);

  router.get('/:userId/balance', checkUserIdParam, gate, async (req, res) => {
    const userId = req.params.userId as string;
    res.json({ userId, balance: await readBalance(deps.dataSource, userId) });
  });

  router.post('/:userId/balance/charge', checkUserIdParam, gate, async (req, res) => {
    const userId = req.params.userId as string;
    const key = idempotencyKey(req.header('Idempotency-Key'));
    const { amount } = parse(body, req.body);
    const view = await chargeBalance(
      deps.dataSource,
      { userId, amount, ...(key ? { idempotencyKey: key } : {}) },
      { maxBalance: deps.config.maxBalance },
    );
    res.json(view);
  });

  router.get('/:userId/balance/history', checkUserIdParam, gate, async (req, res) => {
    const userId = req.params.userId as string;
    const { limit, before } = parse(pageQuery, req.query, 'query');
    const { items, nextCursor } = await listLedger(deps.dataSource, userId, { limit, ...(before ? { before } : {}) });
    res.json({ entries: items, nextCursor: nextCursor ?? null });
  });

  return router;
}
