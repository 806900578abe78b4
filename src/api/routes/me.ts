import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { signDevIdentity } from '../../identity';
import { pageQuery } from '../../db/paging';
import { listPayments, readBalance } from '../../money/queries';
import { listUserReservations } from '../../seats/reservations';
import type { AppDeps } from '../deps';
import { identityOf, requireIdentity } from '../identity-gate';
import { parse, uuid } from '../validation';

/** Reservations are paged by the id of the last reservation of the previous page. */
const reservationPageQuery = pageQuery.extend({
  before: uuid.optional().transform((id) => id?.toLowerCase()),
});

/**
 * `/v1/me…`: what a user can always see with the identity token alone, also after the queue
 * token is spent or expired. A user with no row yet has balance 0 and empty lists.
 */
export function meRouter(deps: AppDeps): Router {
  const router = Router();
  // Per route, not router.use: another method on these paths must reach the 405 handler.
  const identified = requireIdentity(deps.identity, deps.log);

  router.get('/', identified, async (_req, res) => {
    const { userId } = identityOf(res);
    res.json({ userId, balance: await readBalance(deps.dataSource, userId) });
  });

  router.get('/reservations', identified, async (req, res) => {
    const { limit, before } = parse(reservationPageQuery, req.query, 'query');
    const page = await listUserReservations(deps.dataSource, identityOf(res).userId, {
      limit,
      ...(before ? { before } : {}),
    });
    res.json(page);
  });

  router.get('/payments', identified, async (req, res) => {
    const { limit, before } = parse(pageQuery, req.query, 'query');
    const { items, nextCursor } = await listPayments(deps.dataSource, identityOf(res).userId, {
      limit,
      ...(before ? { before } : {}),
    });
    res.json({ payments: items, nextCursor: nextCursor ?? null });
  });

  return router;
}

const devIdentityBody = z.strictObject({ userId: uuid.optional() });

/**
 * `POST /v1/dev/identity` (development only; not mounted under NODE_ENV=production): an
 * identity token for `userId`, or for a new random user, signed with the HS256 secret.
 */
export function devIdentityRouter(deps: AppDeps, secret: string): Router {
  const router = Router();
  router.post('/identity', async (req, res) => {
    const userId = (parse(devIdentityBody, req.body ?? {}).userId ?? randomUUID()).toLowerCase();
    res.json({ identityToken: await signDevIdentity({ ...deps.config, authJwtSecret: secret }, userId) });
  });
  return router;
}
