import { Router } from 'express';
import { z } from 'zod';
import { pageQuery } from '../../db/paging';
import { chargeBalance } from '../../money/charge';
import { listLedger, readBalance } from '../../money/queries';
import type { AppDeps } from '../deps';
import { requireToken } from '../gate';
import { checkParams, idempotencyKey, parse, uuid } from '../validation';

const userParams = z.object({ userId: uuid });

const chargeBody = (maxChargeAmount: number) => {
  const error = `must be a positive integer of at most ${maxChargeAmount}`;
  return z.strictObject({
    amount: z.number({ error }).int({ error }).min(1, { error }).max(maxChargeAmount, { error }),
  });
};

/** `/v1/users/:userId/balance…`: read, charge and ledger of the bearer's own balance (WAITING or ACTIVE token). */
export function balanceRouter(deps: AppDeps): Router {
  const router = Router();
  const own = [checkParams(userParams), requireToken(deps, { allow: ['WAITING', 'ACTIVE'], userParam: 'userId' })];
  const body = chargeBody(deps.config.maxChargeAmount);
  const userOf = (params: unknown): string => parse(userParams, params, 'path').userId;

  router.get('/:userId/balance', ...own, async (req, res) => {
    const userId = userOf(req.params);
    res.json({ userId, balance: await readBalance(deps.dataSource, userId) });
  });

  router.post('/:userId/balance/charge', ...own, async (req, res) => {
    const key = idempotencyKey(req.header('Idempotency-Key'));
    const { amount } = parse(body, req.body);
    const request = { userId: userOf(req.params), amount, ...(key ? { idempotencyKey: key } : {}) };
    res.json(await chargeBalance(deps.dataSource, request, { maxBalance: deps.config.maxBalance }));
  });

  router.get('/:userId/balance/history', ...own, async (req, res) => {
    const page = parse(pageQuery, req.query, 'query');
    const { items, nextCursor } = await listLedger(deps.dataSource, userOf(req.params), page);
    res.json({ entries: items, nextCursor });
  });

  return router;
}
