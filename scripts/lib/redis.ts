/**
 * Redis for tests, the benchmark and the drills: a scratch key prefix on the shared server, and a
 * private redis-server of our own (for drills that restart it).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { createRedis } from '../../src/redis/client';
import type { RedisClient } from '../../src/redis/client';
import { redisKeys } from '../../src/redis/keys';
import type { RedisKeys } from '../../src/redis/keys';
import { freePort, waitForPort } from '../provision';
import { stopChild } from './process';

export interface TestRedis {
  redis: RedisClient;
  keys: RedisKeys;
  /** Deletes every key under the prefix and closes the connection. */
  cleanup(): Promise<void>;
}

/**
 * A connection and the key names under `prefix` on the shared Redis (the Redis Cluster when
 * REDIS_CLUSTER_NODES is set, as on the cluster profile); `cleanup` deletes what the prefix holds.
 */
export function createTestRedis(prefix: string, url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): TestRedis {
  const redisClusterNodes = (process.env.REDIS_CLUSTER_NODES ?? '').split(',').filter(Boolean);
  const redis = createRedis({ redisUrl: url, redisClusterNodes }, 'test');
  return {
    redis,
    keys: redisKeys(prefix),
    async cleanup() {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    },
  };
}

/** Deletes every key under `prefix` (on every master of a cluster). */
export async function deleteKeys(redis: RedisClient, prefix: string): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of found) await node.del(key);
    } while (cursor !== '0');
  }
}

/** A redis-server of our own on a free port, without persistence: a restart brings it back empty. */
export class PrivateRedis {
  child?: ChildProcess;
  private constructor(
    readonly port: number,
    readonly logFile: string,
  ) {}

  static async start(dir: string): Promise<PrivateRedis> {
    mkdirSync(dir, { recursive: true });
    const redis = new PrivateRedis(await freePort(), path.join(dir, 'redis.log'));
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async up(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(
      '/usr/bin/redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    await waitForPort('127.0.0.1', this.port, 15_000);
  }

  /** Kills the server (SIGKILL by default: nothing is saved) without starting it again. */
  async down(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await stopChild(this.child, signal, 10_000);
  }
}
