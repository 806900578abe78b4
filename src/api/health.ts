import { Router } from 'express';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/client';
import type { AppDeps } from './deps';

/** PING every master of a Redis Cluster (a lost master takes its slots with it), or the one server. */
const pingRedis = async (redis: RedisClient): Promise<void> => {
  if (!(redis instanceof Cluster)) {
    await redis.ping();
    return;
  }
  const masters = redis.nodes('master');
  if (masters.length === 0) throw new Error('no Redis Cluster master known');
  await Promise.all(masters.map((node) => node.ping()));
};

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);

/** `/healthz` (the process is alive) and `/readyz` (MySQL, Redis and Temporal answer). */
export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const probes: Record<string, () => Promise<unknown>> = {
      MySQL: () => deps.dataSource.query('SELECT 1'),
      Redis: () => pingRedis(deps.redis),
      Temporal: () => deps.temporal.workflowService.getSystemInfo({}),
    };
    const entries = await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        try {
          await withTimeout(probe(), 1_500);
          return [name, 'up'] as const;
        } catch {
          return [name, 'down'] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const down = entries.filter(([, state]) => state === 'down').map(([name]) => name);
    if (down.length === 0) {
      res.json({ status: 'ready', checks });
      return;
    }
    res.status(503).json({
      error: { code: 'NOT_READY', message: `${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} unreachable` },
      checks,
    });
  });
  return router;
}
