import { Router } from 'express';
import { z } from 'zod';
import { queueSettingsView, updateQueueSettings } from '../../queue/admin';
import { requireAdmin } from '../admin-auth';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { checkParams, parse, uuid } from '../validation';

const count = (max: number) =>
  z
    .number({ error: `must be an integer from 0 to ${max}` })
    .int({ error: `must be an integer from 0 to ${max}` })
    .min(0)
    .max(max);

const settingsPatch = z
  .strictObject({
    maxActive: count(1_000_000).optional(),
    admitPerSecond: count(100_000).optional(),
    paused: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, {
    error: 'give at least one of maxActive, admitPerSecond, paused',
  });

const userParams = z.object({ userId: uuid });

/**
 * `/v1/admin/queue`: queue counts and the admission settings (stored in MySQL; the next
 * admission tick, at most 1 s later, uses them whichever worker runs it), and one user's entry.
 */
export function adminQueueRouter(deps: AppDeps): Router {
  const router = Router();
  const admin = requireAdmin(deps.config.adminApiKey);

  router.get('/queue', admin, async (_req, res) => {
    res.json(await queueSettingsView(deps));
  });

  router.patch('/queue', admin, async (req, res) => {
    res.json(await updateQueueSettings(deps, parse(settingsPatch, req.body ?? {})));
  });

  router.get('/queue/users/:userId', checkParams(userParams), admin, async (req, res) => {
    const { userId } = parse(userParams, req.params, 'path');
    const entry = await deps.queue.lookup(userId);
    if (!entry) throw new HttpError(404, 'ENTRY_NOT_FOUND', `User ${userId} has no live queue entry`);
    res.json(entry);
  });

  return router;
}
