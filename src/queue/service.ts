import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/client';
import type { RedisKeys } from '../redis/keys';
import { defineScripts } from '../redis/scripts';
import type { BoundScript } from '../redis/scripts';
import { queueEntryWorkflowId } from '../shared/ids';
import type { QueueStatus } from '../shared/types';
import { TOKEN_LIFETIME_SECONDS } from '../shared/types';
import { queueScripts } from './scripts';
import type { QueueSettings } from './settings';

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

/** `GET /v1/admin/queue/users/{userId}`. */
export interface EntryLookup {
  userId: string;
  status: QueueStatus;
  position: number;
  activeUntil: string | null;
  /** The entry workflow's id once it runs; null while the entry has none (waiting users). */
  workflowId: string | null;
}

/** An admission whose entry workflow still has to be started (the outbox item, parsed). */
export interface Admission {
  raw: string;
  userId: string;
  tokenId: string;
  /** Epoch ms the active window ends. */
  activeUntil: number;
}

/** Signs queue tokens (src/api/tokens.ts); the queue stores the signed token with the entry. */
export interface QueueTokenSigner {
  sign(claims: { userId: string; tokenId: string }): Promise<string>;
}

/** A measured rate below this (admissions per second) counts as zero. */
const MIN_RATE = 1e-3;

/**
 * The entry's status as of now: an ACTIVE entry whose time ran out is EXPIRED at once, even
 * before anything has written it down.
 */
export function effectiveStatus(status: QueueStatus, activeUntil: number | null, now = Date.now()): QueueStatus {
  return status === 'ACTIVE' && activeUntil !== null && activeUntil <= now ? 'EXPIRED' : status;
}

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

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function toView(userId: string, entry: RawEntry, stats: RawStats, now: number): QueueTokenView {
  const status = effectiveStatus(entry.status, entry.activeUntil, now);
  const position = status === 'WAITING' && entry.rank !== null ? entry.rank + 1 : 0;
  return {
    token: entry.token,
    userId,
    status,
    position,
    estimatedWaitSeconds: estimateWaitSeconds(status, position, stats.rate, stats.paused),
    activeUntil: isoOrNull(entry.activeUntil),
  };
}

/** Throws the error of the first failed command of a MULTI, or when the MULTI was aborted. */
function valuesOf(results: Array<[Error | null, unknown]> | null): unknown[] {
  if (!results) throw new Error('Redis transaction was aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

export interface QueueServiceDeps {
  redis: RedisClient;
  keys: RedisKeys;
  config: { activeTokenTtlSeconds: number };
}

/**
 * Every Redis operation of the waiting line. Order is a ZSET of user ids scored by arrival
 * sequence (position = ZRANK + 1); each user's entry is a HASH; state changes are Lua scripts
 * (./scripts.ts), atomic across every API and worker instance.
 */
export class QueueService {
  private readonly scripts: Record<keyof typeof queueScripts, BoundScript>;

  constructor(private readonly deps: QueueServiceDeps) {
    this.scripts = defineScripts(deps.redis, 'queue', queueScripts);
  }

  private get keys(): RedisKeys {
    return this.deps.keys;
  }

  /**
   * Enters the user into the line: the live entry (WAITING, or ACTIVE before its time ran out)
   * as it is, or a new WAITING entry with a freshly signed token. One script, no other I/O.
   */
  async enter(
    userId: string,
    signer: QueueTokenSigner,
  ): Promise<{ created: boolean; tokenId: string; view: QueueTokenView }> {
    const k = this.keys;
    const tokenId = randomUUID();
    const token = await signer.sign({ userId, tokenId });
    const reply = (await this.scripts.enqueue(
      [k.entry(userId), k.waiting, k.active, k.seq, k.queueStats],
      [userId, tokenId, token, TOKEN_LIFETIME_SECONDS],
    )) as [number, string, string, string, string, number, string, string];
    const [created, storedTokenId, storedToken, status, activeUntil, rank, rate, paused] = reply;
    const entry: RawEntry = {
      token: storedToken,
      status: status as QueueStatus,
      activeUntil: numberOrNull(activeUntil),
      rank: rank >= 0 ? rank : null,
    };
    const view = toView(userId, entry, { rate: numberOrNull(rate), paused: paused === '1' }, Date.now());
    return { created: created === 1, tokenId: storedTokenId, view };
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
    const multi = this.deps.redis.multi().hmget(k.queueStats, 'rate', 'paused');
    for (const { userId } of entries) multi.hmget(k.entry(userId), 'tokenId', 'token', 'status', 'activeUntil');
    for (const { userId } of entries) multi.zrank(k.waiting, userId);
    const values = valuesOf(await multi.exec());
    const [rate, paused] = values[0] as Array<string | null>;
    const stats: RawStats = { rate: numberOrNull(rate), paused: paused === '1' };
    const now = Date.now();
    return entries.map(({ userId, tokenId }, i) => {
      const [storedTokenId, token, status, activeUntil] = values[1 + i] as Array<string | null>;
      const rank = values[1 + entries.length + i] as number | null;
      if (!storedTokenId || storedTokenId !== tokenId || !token || !status) return null;
      return toView(
        userId,
        { token, status: status as QueueStatus, activeUntil: numberOrNull(activeUntil), rank },
        stats,
        now,
      );
    });
  }

  /** The user's live entry for operators (WAITING or ACTIVE), or null. */
  async lookup(userId: string): Promise<EntryLookup | null> {
    const k = this.keys;
    const [entry, rank] = valuesOf(
      await this.deps.redis
        .multi()
        .hmget(k.entry(userId), 'status', 'activeUntil', 'workflow')
        .zrank(k.waiting, userId)
        .exec(),
    ) as [Array<string | null>, number | null];
    const [stored, activeUntil, workflow] = entry;
    if (!stored) return null;
    const until = numberOrNull(activeUntil);
    const status = effectiveStatus(stored as QueueStatus, until);
    if (status !== 'WAITING' && status !== 'ACTIVE') return null;
    return {
      userId,
      status,
      position: status === 'WAITING' && rank !== null ? rank + 1 : 0,
      activeUntil: isoOrNull(until),
      workflowId: workflow === '1' ? queueEntryWorkflowId(userId) : null,
    };
  }

  /** Runs one admission tick with `settings` (see the admit script). */
  async admit(settings: QueueSettings): Promise<{ admitted: number; expired: number }> {
    const k = this.keys;
    const [admitted, expired] = (await this.scripts.admit(
      [k.waiting, k.active, k.queueStats, k.admitOutbox, k.queueEvents],
      [
        k.entryPrefix,
        settings.maxActive,
        settings.admitPerSecond,
        settings.paused ? 1 : 0,
        this.deps.config.activeTokenTtlSeconds * 1000,
      ],
    )) as [number, number];
    return { admitted, expired };
  }

  /** Admissions whose entry workflow has not been started yet, oldest first (at most `limit`). */
  async pendingAdmissions(limit = 1000): Promise<Admission[]> {
    const raw = await this.deps.redis.lrange(this.keys.admitOutbox, 0, limit - 1);
    return raw.flatMap((item) => {
      const [userId, tokenId, until] = item.split('|');
      if (!userId || !tokenId || !until) return [];
      return [{ raw: item, userId, tokenId, activeUntil: Number(until) }];
    });
  }

  /** The admission's entry workflow runs: the outbox item goes and the entry says so. */
  async markStarted(admission: Admission): Promise<void> {
    await this.scripts.started(
      [this.keys.admitOutbox, this.keys.entry(admission.userId)],
      [admission.raw, admission.tokenId],
    );
  }

  /**
   * Ends the entry carrying `tokenId` with `status` and frees its place and slot. An EXPIRED
   * request for an entry whose window a hold has extended ends nothing and answers the new end.
   */
  async finish(
    userId: string,
    tokenId: string,
    status: 'EXPIRED' | 'COMPLETED',
  ): Promise<{ ended: true } | { ended: false; activeUntil: number }> {
    const k = this.keys;
    const [ended, until] = (await this.scripts.finish(
      [k.entry(userId), k.waiting, k.active, k.queueEvents],
      [userId, tokenId, status],
    )) as [number, string];
    return ended === 1 ? { ended: true } : { ended: false, activeUntil: Number(until) };
  }

  /**
   * Spends the user's live entry (the one carrying `tokenId`, or any live one when it is
   * omitted); its tokenId, or null when none lives.
   */
  async complete(userId: string, tokenId?: string): Promise<string | null> {
    const k = this.keys;
    const spent = await this.scripts.complete(
      [k.entry(userId), k.waiting, k.active, k.queueEvents],
      [userId, tokenId ?? ''],
    );
    return typeof spent === 'string' ? spent : null;
  }

  /** Keeps an ACTIVE user admitted at least until `untilMs` (a hold); the window's end afterwards, or null. */
  async extend(userId: string, untilMs: number): Promise<number | null> {
    const until = await this.scripts.extend([this.keys.entry(userId), this.keys.active], [userId, untilMs]);
    return typeof until === 'string' ? Number(until) : null;
  }

  /** How many users wait and how many are admitted. */
  async counts(): Promise<{ waiting: number; active: number }> {
    const k = this.keys;
    const [waiting, active] = valuesOf(await this.deps.redis.multi().zcard(k.waiting).zcard(k.active).exec()) as [
      number,
      number,
    ];
    return { waiting, active };
  }

  /** Lets every API instance see new settings at once (estimates of paused lines, SSE streams). */
  async announceSettings(settings: QueueSettings): Promise<void> {
    await this.deps.redis.hset(this.keys.queueStats, 'paused', settings.paused ? '1' : '');
    await this.deps.redis.publish(this.keys.queueEvents, 'config');
  }
}
