import type { RedisClient } from './client';

/** A Lua script and how many of its arguments are keys. */
export interface ScriptSource {
  keys: number;
  lua: string;
}

export type RedisArg = string | number;

/** A script bound to a client: `run(keys, args)` (EVALSHA, falling back to EVAL, by ioredis). */
export type BoundScript = (keys: readonly string[], args?: readonly RedisArg[]) => Promise<unknown>;

type CommandHost = Record<string, (...args: RedisArg[]) => Promise<unknown>>;

/**
 * Registers `scripts` on `redis` with ioredis `defineCommand` (EVALSHA with an EVAL fallback
 * after a restart or SCRIPT FLUSH; on a Cluster, routed by the first key) and returns them
 * as functions. Names are prefixed with `family` so two modules cannot collide.
 */
export function defineScripts<T extends Record<string, ScriptSource>>(
  redis: RedisClient,
  family: string,
  scripts: T,
): { [N in keyof T]: BoundScript } {
  const host = redis as unknown as CommandHost;
  const bound = {} as { [N in keyof T]: BoundScript };
  for (const [name, { keys, lua }] of Object.entries(scripts)) {
    const command = `${family}_${name}`;
    if (typeof host[command] !== 'function') redis.defineCommand(command, { numberOfKeys: keys, lua });
    (bound as Record<string, BoundScript>)[name] = (keyArgs, args = []) => {
      if (keyArgs.length !== keys) throw new Error(`${command} takes ${keys} keys, got ${keyArgs.length}`);
      return host[command]!(...keyArgs, ...args);
    };
  }
  return bound;
}
