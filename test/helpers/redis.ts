import type { Redis } from 'ioredis';
import { createRedis } from '../../src/redis/client';
import { redisKeys } from '../../src/redis/keys';
import type { RedisKeys } from '../../src/redis/keys';

export interface TestRedis {
  redis: Redis;
  keys: RedisKeys;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup(): Promise<void>;
}

export function createTestRedis(prefix: string, url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): TestRedis {
  const redis = createRedis(url, 'test');
  return {
    redis,
    keys: redisKeys(prefix),
    async cleanup() {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (found.length) await redis.del(...found);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
