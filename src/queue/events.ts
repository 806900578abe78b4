import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { duplicateClient } from '../redis/client';
import type { RedisClient } from '../redis/client';
import type { RedisKeys } from '../redis/keys';
import type { QueueService, QueueTokenView } from './service';

/** Least time between two refreshes of the connected streams (so at most ~4 events/s each). */
const MIN_REFRESH_MS = 250;
/** A stream that sent nothing for this long gets its status again (API.md: at least every 15 s). */
const HEARTBEAT_MS = 10_000;
/** How often the hub looks for streams due a heartbeat, a held-back position or a window's end. */
const SWEEP_MS = 1_000;
/** Least time between two position-only events of one stream, by default (QUEUE_STREAM_POSITION_EVERY_MS). */
export const POSITION_EVERY_MS = 1_000;

const TERMINAL = new Set(['EXPIRED', 'COMPLETED']);

interface StreamClient {
  userId: string;
  tokenId: string;
  token: string;
  res: Response;
  last: QueueTokenView | null;
  lastSentAt: number;
  /** A position change was held back by the position interval; the sweep sends it when due. */
  behind: boolean;
}

export interface QueueEventHubOptions {
  /** Quiet time after which a stream gets its status again; default 10 s. */
  heartbeatMs?: number;
  /**
   * Least time between two events of one stream that only move its position (default 1 s).
   * Status changes and a pause or resume go out at once. Every admission moves every waiting
   * position, so with a long line this is what bounds the pushes: a million streams at one a
   * second is a million pushes a second (see docs/scaling.md).
   */
  positionEveryMs?: number;
}

export interface QueueEventHubDeps {
  queue: QueueService;
  redis: RedisClient;
  keys: RedisKeys;
  log: Logger;
  /** The hub adds its own close here when it opens its subscriber. */
  shutdownHooks: Array<() => Promise<void>>;
}

/**
 * SSE fan-out for one API process: one Redis subscriber on the queue events channel, opened
 * with the first stream. Any queue change published by any instance (admission tick, an
 * entry ending, settings) makes the hub re-read every connected entry in one MULTI and push
 * an event to the streams whose status or position changed. Because every API instance
 * subscribes, a client gets its events whichever instance it reached.
 */
export class QueueEventHub {
  private readonly clients = new Set<StreamClient>();
  private subscriber: RedisClient | null = null;
  private subscribing: Promise<void> | null = null;
  private sweep: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private lastRefreshAt = 0;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private closed = false;
  private readonly heartbeatMs: number;
  private readonly positionEveryMs: number;

  constructor(
    private readonly deps: QueueEventHubDeps,
    options: QueueEventHubOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.positionEveryMs = options.positionEveryMs ?? POSITION_EVERY_MS;
  }

  /** Open streams (for tests and metrics). */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Subscribes this process to the queue events channel, once. */
  async ensureSubscribed(): Promise<void> {
    if (this.closed) throw new Error('the queue event hub is closed');
    this.subscribing ??= this.subscribe().catch((err: unknown) => {
      this.subscribing = null;
      throw err;
    });
    return this.subscribing;
  }

  private async subscribe(): Promise<void> {
    const subscriber = duplicateClient(this.deps.redis, 'queue-events');
    this.subscriber = subscriber;
    this.deps.shutdownHooks.push(() => this.close());
    subscriber.on('message', () => this.scheduleRefresh());
    // After a reconnect (ioredis re-subscribes by itself) events may have been missed.
    subscriber.on('ready', () => this.scheduleRefresh());
    subscriber.on('error', (err: unknown) => this.deps.log.warn({ err }, 'queue events subscriber error'));
    await subscriber.subscribe(this.deps.keys.queueEvents);
  }

  /**
   * Starts the event stream of one entry on `res`: writes the SSE headers, the current
   * status at once, and keeps the stream until a terminal status or the client leaves.
   */
  async open(req: Request, res: Response, auth: { userId: string; tokenId: string; token: string }): Promise<void> {
    await this.ensureSubscribed();
    const client: StreamClient = { ...auth, res, last: null, lastSentAt: 0, behind: false };
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    this.clients.add(client);
    const detach = (): void => this.detach(client);
    req.once('close', detach);
    res.once('close', detach);
    res.once('error', detach);
    this.startSweep();
    // Registered before this first read, so no change published after it can be missed.
    await this.refresh([client], true);
  }

  private detach(client: StreamClient): void {
    if (!this.clients.delete(client)) return;
    if (!client.res.writableEnded) client.res.end();
    if (this.clients.size === 0) this.stopSweep();
  }

  private startSweep(): void {
    if (this.sweep) return;
    const every = Math.min(SWEEP_MS, this.heartbeatMs);
    this.sweep = setInterval(() => {
      const now = Date.now();
      const due = [...this.clients].filter(
        (c) =>
          now - c.lastSentAt >= this.heartbeatMs ||
          (c.behind && now - c.lastSentAt >= this.positionEveryMs) ||
          (c.last?.status === 'ACTIVE' && c.last.activeUntil !== null && Date.parse(c.last.activeUntil) <= now),
      );
      if (due.length > 0) void this.refresh(due, true);
    }, every);
    this.sweep.unref();
  }

  private stopSweep(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
  }

  /** Coalesces events: at most one refresh of all streams per MIN_REFRESH_MS. */
  private scheduleRefresh(): void {
    if (this.closed || this.clients.size === 0 || this.refreshTimer) return;
    const wait = Math.max(0, this.lastRefreshAt + MIN_REFRESH_MS - Date.now());
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.refreshAll();
    }, wait);
    this.refreshTimer.unref();
  }

  private async refreshAll(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.lastRefreshAt = Date.now();
    this.refreshing = this.refresh([...this.clients], false);
    await this.refreshing;
    this.refreshing = null;
    if (this.refreshAgain) {
      this.refreshAgain = false;
      this.scheduleRefresh();
    }
  }

  /**
   * Re-reads the entries of `targets` and writes an event to each whose status or position
   * changed (or to all of them when `force`). Errors (Redis away) are logged; the next event
   * or heartbeat tries again.
   */
  private async refresh(targets: StreamClient[], force: boolean): Promise<void> {
    const live = targets.filter((c) => this.clients.has(c));
    if (live.length === 0) return;
    let views: Array<QueueTokenView | null>;
    try {
      views = await this.deps.queue.views(live);
    } catch (err) {
      this.deps.log.warn({ err }, 'queue stream refresh failed');
      return;
    }
    live.forEach((client, i) => {
      if (!this.clients.has(client)) return;
      // An entry that is gone or was replaced by a newer one has ended for this token.
      const view: QueueTokenView = views[i] ?? {
        token: client.token,
        userId: client.userId,
        status: 'EXPIRED',
        position: 0,
        estimatedWaitSeconds: 0,
        activeUntil: client.last?.activeUntil ?? null,
      };
      // A pause or resume changes no place in line, but it does change what the user is told.
      const changed =
        !client.last ||
        client.last.status !== view.status ||
        (client.last.estimatedWaitSeconds === null) !== (view.estimatedWaitSeconds === null);
      const moved = client.last !== null && client.last.position !== view.position;
      if (force || changed || (moved && Date.now() - client.lastSentAt >= this.positionEveryMs))
        this.send(client, view);
      else if (moved) client.behind = true;
      if (TERMINAL.has(view.status)) this.detach(client);
    });
  }

  private send(client: StreamClient, view: QueueTokenView): void {
    client.last = view;
    client.lastSentAt = Date.now();
    client.behind = false;
    client.res.write(`event: status\ndata: ${JSON.stringify(view)}\n\n`);
  }

  /** Ends every stream and closes the subscriber (process shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    for (const client of [...this.clients]) this.detach(client);
    this.stopSweep();
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }
}
