import { Redis } from 'ioredis';

/**
 * A Redis connection that fails commands fast while Redis is down (instead of queueing
 * them forever), so requests answer 503 and `/readyz` can say so.
 */
export function createRedis(url: string, name = 'concert'): Redis {
  return new Redis(url, {
    connectionName: name,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
}
