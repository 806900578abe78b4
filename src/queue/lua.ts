import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

type RedisArg = string | number;

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not have it
 * cached yet (after a restart or SCRIPT FLUSH). Each script runs atomically in Redis.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly RedisArg[] = []): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
