import { Router } from 'express';
import { z } from 'zod';
import { QueueService } from '../../queue';
import { requireAdmin } from '../admin-auth';
import type { AppDeps } from '../deps';
import { parse } from '../validation';

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

/**
 * `/v1/admin/queue`: queue counts and the admission settings. Settings live in Redis, so a
 * change reaches the next admission tick (at most 1 s) whichever worker runs it, without a
 * restart.
 */
export function adminQueueRouter(deps: AppDeps): Router {
  const router = Router();
  const queue = new QueueService(deps);
  const admin = requireAdmin(deps.config.adminApiKey);

  router.get('/queue', admin, async (_req, res) => {
    res.json(await queue.settings());
  });

  router.patch('/queue', admin, async (req, res) => {
    const patch = parse(settingsPatch, req.body ?? {});
    res.json(await queue.updateSettings(patch));
  });

  return router;
}
