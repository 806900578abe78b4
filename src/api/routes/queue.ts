import { Router } from 'express';
import type { QueueEventHub } from '../../queue/events';
import type { AppDeps } from '../deps';
import { unauthorized } from '../errors';
import { authenticate } from '../gate';
import { requireIdentity, tokenRateLimit, tokenRequestUser } from '../identity-gate';

/**
 * `/v1/queue`: enter the line, read the entry's state, follow it as Server-Sent Events.
 * Entering costs one Redis script and a signature; positions are read from Redis (ZRANK),
 * never by asking a workflow.
 */
export function queueRouter(deps: AppDeps, hub: QueueEventHub): Router {
  const router = Router();

  router.post('/tokens', requireIdentity(deps.identity, deps.log), tokenRateLimit(deps), async (req, res) => {
    const userId = tokenRequestUser(req, res);
    const { created, view } = await deps.queue.enter(userId, deps.tokens);
    res.status(created ? 201 : 200).json(view);
  });

  router.get('/tokens/current', async (req, res) => {
    const auth = await authenticate(deps, req.headers.authorization);
    const view = await deps.queue.view(auth.userId, auth.tokenId);
    if (!view) throw unauthorized('The queue token is not known');
    res.json(view);
  });

  router.get('/tokens/current/events', async (req, res) => {
    const auth = await authenticate(deps, req.headers.authorization);
    await hub.open(req, res, auth);
  });

  return router;
}
