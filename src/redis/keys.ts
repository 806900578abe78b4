/**
 * Every Redis key the service uses, under one prefix (REDIS_KEY_PREFIX), so deployments and
 * test files can share one Redis without touching each other's data.
 *
 * Hash tags (`{…}`) decide the Redis Cluster slot: every key of the waiting line, including
 * each user's entry, carries `{q}`, so the queue's scripts (which touch the line, the active
 * set and many entries at once) run on one node; each performance's seat state is its own
 * slot. A deployment that outgrows one queue node runs one queue per concert (a prefix each).
 */
export function redisKeys(prefix: string) {
  const q = `${prefix}{q}:`;
  return {
    prefix,
    /** ZSET userId → arrival sequence: the waiting line, FIFO by score. */
    waiting: `${q}waiting`,
    /** ZSET userId → activeUntil (epoch ms): admitted users. */
    active: `${q}active`,
    /** Arrival counter giving each new entry its place. */
    seq: `${q}seq`,
    /** HASH of admission state: rate EMA, last tick, carry, and the settings last applied. */
    queueStats: `${q}stats`,
    /** LIST of admissions whose entry workflow has not been started yet (the admission outbox). */
    admitOutbox: `${q}admit-outbox`,
    /** Pub/sub channel announcing queue changes to every API instance (SSE fan-out). */
    queueEvents: `${q}events`,
    /** Prefix of the per-user entry hashes (for scripts that address several entries). */
    entryPrefix: `${q}entry:`,
    /** HASH per user: tokenId, token, status, seq, activeUntil, workflow ('1' once started). */
    entry: (userId: string) => `${q}entry:${userId}`,
    /** HASH per performance: seatNo → "held:<reservationId>:<heldUntilMs>" | "sold" | "pending:<id>:<untilMs>". */
    seatState: (concertId: string, date: string) => `${prefix}seats:{${concertId}:${date}}`,
    /** Prefix of the per-user token request counters (rate limit). */
    tokenRate: `${prefix}rate:tokens:`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
