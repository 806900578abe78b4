import type { RedisClient } from '../redis/client';
import type { RedisKeys } from '../redis/keys';
import { defineScripts } from '../redis/scripts';
import type { BoundScript, ScriptSource } from '../redis/scripts';

/**
 * The Redis seat pre-filter: HASH `seatState(concertId, date)`, field = seat number, value
 * `held:<reservationId>:<heldUntilMs>` | `pending:<reservationId>:<untilMs>` | `sold`. It only
 * turns requests away early and hides seats from the seat map; MySQL decides every hold, and
 * losing the hash is harmless (the next holds rebuild it). Every script touches one hash, so
 * each runs on the node of its performance in a Redis Cluster.
 */

/** How long an API's claim on a seat stands while its hold runs; lapses by itself if the API dies. */
export const PENDING_CLAIM_MS = 10_000;

export const heldValue = (reservationId: string, heldUntilMs: number): string => `held:${reservationId}:${heldUntilMs}`;
export const pendingValue = (reservationId: string, untilMs: number): string => `pending:${reservationId}:${untilMs}`;
export const SOLD = 'sold';

/** Whether a field value says the seat is taken at `nowMs` (sold, or a hold/claim that has not lapsed). */
export function isTaken(value: string | null | undefined, nowMs: number): boolean {
  if (!value) return false;
  if (value === SOLD) return true;
  const until = Number(value.slice(value.lastIndexOf(':') + 1));
  return Number.isFinite(until) && until > nowMs;
}

// Same rule as isTaken, in Lua: a value that is neither sold nor ends in a future time is free.
const TAKEN_LUA = `
local function taken(v, now)
  if not v then return false end
  if v == 'sold' then return true end
  local untilMs = tonumber(string.match(v, ':(%d+)$'))
  return untilMs ~= nil and untilMs > now
end
`;

const scripts: Record<string, ScriptSource> = {
  /** ARGV seatNo, nowMs, claim value. 0 = taken, 1 = claimed, 2 = claimed over a lapsed hold. */
  claim: {
    keys: 1,
    lua: `${TAKEN_LUA}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if taken(v, tonumber(ARGV[2])) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if v and string.sub(v, 1, 5) == 'held:' then return 2 end
return 1
`,
  },
  /** ARGV seatNo, exact value. Deletes the field only if it still holds that value. */
  deleteIfEqual: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`,
  },
  /** ARGV seatNo, reservationId. Deletes a held/pending field naming that reservation. */
  deleteIfNames: {
    keys: 1,
    lua: `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and (string.sub(v, 1, #ARGV[2] + 6) == 'held:' .. ARGV[2] .. ':'
  or string.sub(v, 1, #ARGV[2] + 9) == 'pending:' .. ARGV[2] .. ':') then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`,
  },
  /** ARGV seatNo, value. Writes what MySQL saw unless the field already says sold. */
  setUnlessSold: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], ARGV[1]) == 'sold' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`,
  },
};

/** Outcome of {@link SeatState.claim}. */
export type Claim = 'taken' | 'claimed' | 'claimed-lapsed-hold';

/** Seat numbers that the hash says are taken at `nowMs`. */
export function takenSeats(hash: Record<string, string>, nowMs: number): Set<number> {
  const taken = new Set<number>();
  for (const [field, value] of Object.entries(hash)) if (isTaken(value, nowMs)) taken.add(Number(field));
  return taken;
}

/** A seat, as the pre-filter addresses it. */
export interface SeatRef {
  concertId: string;
  date: string;
  seatNo: number;
}

/** The seat pre-filter's operations (one per process, built on the process's Redis client). */
export class SeatState {
  private readonly run: Record<string, BoundScript>;

  constructor(private readonly deps: { redis: RedisClient; keys: RedisKeys }) {
    this.run = defineScripts(deps.redis, 'seats', scripts);
  }

  private key(seat: SeatRef): string {
    return this.deps.keys.seatState(seat.concertId, seat.date);
  }

  /**
   * Claims the seat with `value` unless the field says it is taken at `nowMs`, in one atomic
   * step, so of many racers for a free seat exactly one gets past the pre-filter.
   * `claimed-lapsed-hold` means the field named a hold whose time has run out: its workflow
   * may still be releasing it.
   */
  async claim(seat: SeatRef, value: string, nowMs: number): Promise<Claim> {
    const result = await this.run.claim!([this.key(seat)], [seat.seatNo, nowMs, value]);
    return result === 0 ? 'taken' : result === 2 ? 'claimed-lapsed-hold' : 'claimed';
  }

  /** Removes our own claim (a hold that failed), leaving anyone else's value alone. */
  async dropClaim(seat: SeatRef, value: string): Promise<void> {
    await this.run.deleteIfEqual!([this.key(seat)], [seat.seatNo, value]);
  }

  /** Clears the field after a release, if it still names `reservationId`. */
  async clearReservation(seat: SeatRef, reservationId: string): Promise<void> {
    await this.run.deleteIfNames!([this.key(seat)], [seat.seatNo, reservationId]);
  }

  /** Records a held or sold seat seen in MySQL, so later racers stop at the pre-filter. */
  async mark(seat: SeatRef, value: string): Promise<void> {
    if (value === SOLD) await this.deps.redis.hset(this.key(seat), String(seat.seatNo), SOLD);
    else await this.run.setUnlessSold!([this.key(seat)], [seat.seatNo, value]);
  }

  /** After a checkout: paid seats read sold, released ones free. */
  async settle(settled: ReadonlyArray<SeatRef & { reservationId: string; outcome: 'CONFIRMED' | 'CANCELLED' }>) {
    await Promise.all(
      settled.map((seat) =>
        seat.outcome === 'CONFIRMED' ? this.mark(seat, SOLD) : this.clearReservation(seat, seat.reservationId),
      ),
    );
  }

  /** The whole hash of one performance (the seat map's overlay). */
  async read(concertId: string, date: string): Promise<Record<string, string>> {
    return this.deps.redis.hgetall(this.deps.keys.seatState(concertId, date));
  }

  /**
   * The pre-filter is an optimisation: a Redis failure must not fail a hold, release or payment
   * whose MySQL transaction decided (a stale field lapses by its own time, or costs one refused
   * hold that writes the truth back). Runs `write` and drops its error.
   */
  static async quietly(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch {
      // ignored on purpose, see above
    }
  }
}
