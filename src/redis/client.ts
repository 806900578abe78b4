import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';

/** A single Redis or a Redis Cluster: every command the service sends works on both. */
export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  /** `redis://host:port` of a single server (used when no cluster nodes are given). */
  redisUrl: string;
  /** `host:port` seeds of a Redis Cluster; empty for a single server. */
  redisClusterNodes?: readonly string[];
}

/**
 * Commands fail fast while Redis is down (instead of queueing for ever), so requests answer
 * 503 and `/readyz` can say so; concurrent commands of one tick share a write (auto-pipelining),
 * which is what keeps a burst of token requests cheap.
 */
const commonOptions = (name: string): RedisOptions => ({
  connectionName: name,
  enableOfflineQueue: true,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  retryStrategy: (times) => Math.min(times * 100, 2_000),
});

/** Connects to the configured Redis: a Cluster client when cluster nodes are given. */
export function createRedis(target: RedisTarget, name = 'concert'): RedisClient {
  const nodes = target.redisClusterNodes ?? [];
  if (nodes.length > 0) {
    return new Cluster(
      nodes.map((node) => {
        const [host = '127.0.0.1', port = '6379'] = node.split(':');
        return { host, port: Number(port) };
      }),
      {
        enableAutoPipelining: true,
        enableOfflineQueue: true,
        clusterRetryStrategy: (times) => Math.min(times * 100, 2_000),
        redisOptions: commonOptions(name),
      },
    );
  }
  return new Redis(target.redisUrl, { ...commonOptions(name), enableAutoPipelining: true });
}

/** A second connection to the same Redis (e.g. a pub/sub subscriber, which cannot send other commands). */
export function duplicateClient(redis: RedisClient, name: string): RedisClient {
  return redis instanceof Cluster ? redis.duplicate() : redis.duplicate({ connectionName: name });
}
