import type { Redis } from 'ioredis';
import { effectiveStatus } from '../api/gate';
import type { Config } from '../config';
import type { RedisKeys } from '../redis/keys';
import type { QueueStatus } from '../shared/types';
import { TOKEN_LIFETIME_SECONDS } from '../shared/types';
import { admitScript, completeScript, dropScript, enqueueScript, finishScript } from './scripts';

/** The body of `POST /v1/queue/tokens`, `GET /v1/queue/tokens/current` and each SSE `status` event. */
export interface QueueTokenView {
  token: string;
  userId: string;
  status: QueueStatus;
  /** 1-based place among waiting users; 0 once not WAITING. */
  position: number;
  /** See {@link estimateWaitSeconds}. */
  estimatedWaitSeconds: number | null;
  /** ISO time the active window ends; null until admitted. */
  activeUntil: string | null;
}

/** `GET /v1/admin/queue`. */
export interface QueueSettingsView {
  waiting: number;
  active: number;
  maxActive: number;
  admitPerSecond: number;
  paused: boolean;
}

export type QueueSettingsPatch = Partial<Pick<QueueSettingsView, 'maxActive' | 'admitPerSecond' | 'paused'>>;

/** An admission whose entry workflow still has to be signalled (the outbox item, parsed). */
export interface Admission {
  raw: string;
  userId: string;
  tokenId: string;
  activeUntil: number;
}

/** A measured rate below this (admissions per second) counts as zero. */
const MIN_RATE = 1e-3;

/**
 * estimatedWaitSeconds = ceil(position / rate), where rate is the exponential moving average
 * of admitted users per second that each admission tick updates while someone is waiting
 * (rate ← 0.3 × admitted/elapsed + 0.7 × rate). It is null while no rate has been measured,
 * while the rate is zero (e.g. every slot taken) and while the queue is paused; 0 for an entry
 * that is no longer WAITING.
 */
export function estimateWaitSeconds(
  status: QueueStatus,
  position: number,
  rate: number | null,
  paused: boolean,
): number | null {
  if (status !== 'WAITING') return 0;
  if (paused || rate === null || !(rate > MIN_RATE)) return null;
  return Math.ceil(position / rate);
}

interface RawEntry {
  tokenId: string;
  token: string;
  status: QueueStatus;
  activeUntil: number | null;
  /** 0-based ZRANK in the waiting line, null when not in it. */
  rank: number | null;
}

interface RawStats {
  rate: number | null;
  paused: boolean;
}

const numberOrNull = (value: string | null | undefined): number | null => {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

function toView(userId: string, entry: RawEntry, stats: RawStats, now: number): QueueTokenView {
  const status = effectiveStatus(entry.status, entry.activeUntil, now);
  const position = status === 'WAITING' && entry.rank !== null ? entry.rank + 1 : 0;
  return {
    token: entry.token,
    userId,
    status,
    position,
    estimatedWaitSeconds: estimateWaitSeconds(status, position, stats.rate, stats.paused),
    activeUntil: entry.activeUntil === null ? null : new Date(entry.activeUntil).toISOString(),
  };
}

export interface QueueServiceDeps {
  redis: Redis;
  keys: RedisKeys;
  config: Pick<Config, 'queueMaxActive' | 'queueAdmitPerSecond' | 'activeTokenTtlSeconds'>;
}

/**
 * Every Redis operation of the waiting queue. Order is a ZSET of user ids scored by arrival
 * sequence (position = ZRANK + 1); each user's entry is a HASH; state changes are Lua
 * scripts (./scripts.ts), so they are atomic across all API and worker instances.
 */
export class QueueService {
  constructor(private readonly deps: QueueServiceDeps) {}

  private get redis(): Redis {
    return this.deps.redis;
  }

  private get keys(): RedisKeys {
    return this.deps.keys;
  }

  /**
   * Enqueue-if-absent: the user's live entry (WAITING, or ACTIVE before its time ran out) as
   * it is, or a new WAITING entry carrying `tokenId` and the already signed `token`.
   */
  async enqueue(
    userId: string,
    tokenId: string,
    token: string,
  ): Promise<{ created: boolean; tokenId: string; view: QueueTokenView }> {
    const k = this.keys;
    const reply = (await enqueueScript.run(
      this.redis,
      [k.entry(userId), k.waiting, k.active, k.seq, k.queueStats, k.queueConfig],
      [userId, tokenId, token, TOKEN_LIFETIME_SECONDS],
    )) as [number, string, string, string, string, number, string, string];
    const [created, storedTokenId, storedToken, status, activeUntil, rank, rate, paused] = reply;
    const entry: RawEntry = {
      tokenId: storedTokenId,
      token: storedToken,
      status: status as QueueStatus,
      activeUntil: numberOrNull(activeUntil),
      rank: rank >= 0 ? rank : null,
    };
    const view = toView(userId, entry, { rate: numberOrNull(rate), paused: paused === '1' }, Date.now());
    return { created: created === 1, tokenId: storedTokenId, view };
  }

  /** Removes the entry if it still carries `tokenId` (an enqueue whose workflow did not start). */
  async drop(userId: string, tokenId: string): Promise<boolean> {
    const k = this.keys;
    const removed = await dropScript.run(
      this.redis,
      [k.entry(userId), k.waiting, k.active, k.queueEvents],
      [userId, tokenId],
    );
    return removed === 1;
  }

  /** The entry's current state, or null when the user has no entry carrying `tokenId`. */
  async view(userId: string, tokenId: string): Promise<QueueTokenView | null> {
    const [view] = await this.views([{ userId, tokenId }]);
    return view ?? null;
  }

  /**
   * Current views of several entries in one MULTI (consistent with each other); null for an
   * entry that is gone or now carries another token.
   */
  async views(entries: ReadonlyArray<{ userId: string; tokenId: string }>): Promise<Array<QueueTokenView | null>> {
    if (entries.length === 0) return [];
    const k = this.keys;
    const multi = this.redis.multi();
    multi.hmget(k.queueStats, 'rate');
    multi.hget(k.queueConfig, 'paused');
    for (const { userId } of entries) {
      multi.hmget(k.entry(userId), 'tokenId', 'token', 'status', 'activeUntil');
      multi.zrank(k.waiting, userId);
    }
    const results = await multi.exec();
    if (!results) throw new Error('queue view transaction was aborted');
    for (const [err] of results) if (err) throw err;
    const value = (i: number): unknown => results[i]?.[1];
    const stats: RawStats = {
      rate: numberOrNull((value(0) as Array<string | null>)[0]),
      paused: value(1) === '1',
    };
    const now = Date.now();
    return entries.map(({ userId, tokenId }, i) => {
      const [storedTokenId, token, status, activeUntil] = value(2 + 2 * i) as Array<string | null>;
      const rank = value(3 + 2 * i) as number | null;
      if (!storedTokenId || storedTokenId !== tokenId || !token || !status) return null;
      return toView(
        userId,
        { tokenId, token, status: status as QueueStatus, activeUntil: numberOrNull(activeUntil), rank },
        stats,
        now,
      );
    });
  }

  /** Runs one admission tick (see admitScript); the caller signals the outbox afterwards. */
  async admit(): Promise<{ admitted: number; expired: number }> {
    const k = this.keys;
    const { queueMaxActive, queueAdmitPerSecond, activeTokenTtlSeconds } = this.deps.config;
    const [admitted, expired] = (await admitScript.run(
      this.redis,
      [k.waiting, k.active, k.queueConfig, k.queueStats, k.admitOutbox, k.queueEvents],
      [k.entry(''), queueMaxActive, queueAdmitPerSecond, activeTokenTtlSeconds * 1000],
    )) as [number, number];
    return { admitted, expired };
  }

  /** Admissions not yet signalled to their entry workflows, oldest first (at most `limit`). */
  async pendingAdmissions(limit = 1000): Promise<Admission[]> {
    const raw = await this.redis.lrange(this.keys.admitOutbox, 0, limit - 1);
    return raw.flatMap((item) => {
      const [userId, tokenId, until] = item.split('|');
      if (!userId || !tokenId || !until) return [];
      return [{ raw: item, userId, tokenId, activeUntil: Number(until) }];
    });
  }

  /** Removes one outbox item once its signal was delivered (or its workflow is gone). */
  async ackAdmission(admission: Pick<Admission, 'raw'>): Promise<void> {
    await this.redis.lrem(this.keys.admitOutbox, 1, admission.raw);
  }

  /** Sets a terminal status if the entry still carries `tokenId`, and frees its place and slot. */
  async finish(userId: string, tokenId: string, status: 'EXPIRED' | 'COMPLETED'): Promise<boolean> {
    const k = this.keys;
    const matched = await finishScript.run(
      this.redis,
      [k.entry(userId), k.waiting, k.active, k.queueEvents],
      [userId, tokenId, status],
    );
    return matched === 1;
  }

  /** Marks the user's live entry COMPLETED; its tokenId, or null when none lives. */
  async complete(userId: string): Promise<string | null> {
    const k = this.keys;
    const tokenId = await completeScript.run(
      this.redis,
      [k.entry(userId), k.waiting, k.active, k.queueEvents],
      [userId],
    );
    return typeof tokenId === 'string' ? tokenId : null;
  }

  /** Counts and the admission settings in force. */
  async settings(): Promise<QueueSettingsView> {
    const k = this.keys;
    const results = await this.redis
      .multi()
      .zcard(k.waiting)
      .zcard(k.active)
      .hmget(k.queueConfig, 'maxActive', 'admitPerSecond', 'paused')
      .exec();
    if (!results) throw new Error('queue settings transaction was aborted');
    for (const [err] of results) if (err) throw err;
    const [waiting, active, cfg] = results.map(([, v]) => v) as [number, number, Array<string | null>];
    return {
      waiting,
      active,
      maxActive: numberOrNull(cfg[0]) ?? this.deps.config.queueMaxActive,
      admitPerSecond: numberOrNull(cfg[1]) ?? this.deps.config.queueAdmitPerSecond,
      paused: cfg[2] === '1',
    };
  }

  /** Stores new settings; the next admission tick on any instance uses them. */
  async updateSettings(patch: QueueSettingsPatch): Promise<QueueSettingsView> {
    const fields: Record<string, string> = {};
    if (patch.maxActive !== undefined) fields.maxActive = String(patch.maxActive);
    if (patch.admitPerSecond !== undefined) fields.admitPerSecond = String(patch.admitPerSecond);
    if (patch.paused !== undefined) fields.paused = patch.paused ? '1' : '0';
    if (Object.keys(fields).length > 0) {
      await this.redis.hset(this.keys.queueConfig, fields);
      // Pausing changes every waiting user's estimate; let the SSE streams refresh.
      await this.redis.publish(this.keys.queueEvents, 'config');
    }
    return this.settings();
  }
}
