/**
 * Every Redis key the service uses, under one prefix (REDIS_KEY_PREFIX), so deployments and
 * test files can share one Redis without touching each other's data.
 */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** ZSET userId → arrival sequence: the waiting line, FIFO by score. */
    waiting: `${prefix}q:waiting`,
    /** ZSET userId → activeUntil (epoch ms): admitted users. */
    active: `${prefix}q:active`,
    /** Arrival counter giving each new entry its place. */
    seq: `${prefix}q:seq`,
    /** HASH of admission settings changed at run time (maxActive, admitPerSecond, paused). */
    queueConfig: `${prefix}q:config`,
    /** HASH of admission measurements (rate EMA, last tick). */
    queueStats: `${prefix}q:stats`,
    /** LIST of admitted users whose entry workflow has not been signalled yet. */
    admitOutbox: `${prefix}q:admit-outbox`,
    /** Pub/sub channel announcing queue changes to every API instance (SSE fan-out). */
    queueEvents: `${prefix}q:events`,
    /** HASH per user: tokenId, token, status, seq, activeUntil. */
    entry: (userId: string) => `${prefix}q:entry:${userId}`,
    /** HASH per performance: seatNo → "held:<reservationId>:<heldUntilMs>" | "sold" | "pending:<id>:<untilMs>". */
    seatState: (concertId: string, date: string) => `${prefix}seats:${concertId}:${date}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
