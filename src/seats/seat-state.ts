import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Redis seat pre-filter: HASH `seatState(concertId, date)`, field = seat number, value
 * `held:<reservationId>:<heldUntilMs>` | `pending:<reservationId>:<untilMs>` | `sold`. It only
 * turns requests away early and hides seats from the seat map; MySQL decides every hold, and
 * losing the hash is harmless (the next holds rebuild it).
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

/** KEYS[1] hash; ARGV seatNo, nowMs, claim value. 0 = taken, 1 = claimed, 2 = claimed over a lapsed hold. */
const CLAIM = `${TAKEN_LUA}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if taken(v, tonumber(ARGV[2])) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if v and string.sub(v, 1, 5) == 'held:' then return 2 end
return 1
`;

/** KEYS[1] hash; ARGV seatNo, exact value. Deletes the field only if it still holds that value. */
const DELETE_IF_EQUAL = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
`;

/** KEYS[1] hash; ARGV seatNo, reservationId. Deletes a held/pending field naming that reservation. */
const DELETE_IF_NAMES = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and (string.sub(v, 1, #ARGV[2] + 6) == 'held:' .. ARGV[2] .. ':'
  or string.sub(v, 1, #ARGV[2] + 9) == 'pending:' .. ARGV[2] .. ':') then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`;

/** KEYS[1] hash; ARGV seatNo, value. Writes what MySQL saw unless the field already says sold. */
const SET_UNLESS_SOLD = `
if redis.call('HGET', KEYS[1], ARGV[1]) == 'sold' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

const sha1 = (script: string): string => createHash('sha1').update(script).digest('hex');
const SHAS = new Map([CLAIM, DELETE_IF_EQUAL, DELETE_IF_NAMES, SET_UNLESS_SOLD].map((s) => [s, sha1(s)]));

/** EVALSHA, loading the script with EVAL the first time a Redis server has not seen it. */
async function run(redis: Redis, script: string, key: string, args: Array<string | number>): Promise<number> {
  try {
    return (await redis.evalsha(SHAS.get(script) ?? sha1(script), 1, key, ...args)) as number;
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return (await redis.eval(script, 1, key, ...args)) as number;
  }
}

/** Outcome of {@link claimSeat}. */
export type Claim = 'taken' | 'claimed' | 'claimed-lapsed-hold';

/**
 * Claims `seatNo` with `value` unless the field says the seat is taken at `nowMs`, in one
 * atomic step, so of many racers for a free seat exactly one gets past the pre-filter.
 * `claimed-lapsed-hold` means the field named a hold whose time has run out: its workflow
 * may still be releasing it.
 */
export async function claimSeat(
  redis: Redis,
  key: string,
  seatNo: number,
  value: string,
  nowMs: number,
): Promise<Claim> {
  const result = await run(redis, CLAIM, key, [seatNo, nowMs, value]);
  return result === 0 ? 'taken' : result === 2 ? 'claimed-lapsed-hold' : 'claimed';
}

/** Removes our own claim (a hold that failed), leaving anyone else's value alone. */
export async function dropClaim(redis: Redis, key: string, seatNo: number, value: string): Promise<void> {
  await run(redis, DELETE_IF_EQUAL, key, [seatNo, value]);
}

/** Clears the field after a release, if it still names `reservationId`. */
export async function clearReservation(redis: Redis, key: string, seatNo: number, reservationId: string) {
  await run(redis, DELETE_IF_NAMES, key, [seatNo, reservationId]);
}

/** Records a held or sold seat seen in MySQL, so later racers stop at the pre-filter. */
export async function markSeat(redis: Redis, key: string, seatNo: number, value: string): Promise<void> {
  if (value === SOLD) await redis.hset(key, String(seatNo), SOLD);
  else await run(redis, SET_UNLESS_SOLD, key, [seatNo, value]);
}

/** Seat numbers that the hash says are taken at `nowMs`. */
export function takenSeats(hash: Record<string, string>, nowMs: number): Set<number> {
  const taken = new Set<number>();
  for (const [field, value] of Object.entries(hash)) if (isTaken(value, nowMs)) taken.add(Number(field));
  return taken;
}
