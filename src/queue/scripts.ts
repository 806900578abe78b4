import { LuaScript } from './lua';

/*
 * The queue's Redis scripts. Each one runs atomically, so concurrent API requests, admission
 * ticks from several workers and entry workflows finishing never interleave inside one.
 *
 * Time: every script that needs "now" reads Redis TIME, so all instances share one clock
 * for ordering ticks, stamping `activeUntil` and judging whether an entry is still live.
 * Entry hashes of other users (admission) are addressed through a key prefix passed in ARGV;
 * that is fine on a single Redis (the deployment here), not on Redis Cluster.
 */

/** `now` in epoch milliseconds from Redis TIME. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Enqueue-if-absent.
 * KEYS: entry, waiting, active, seq, queueStats, queueConfig
 * ARGV: userId, tokenId, token, entryTtlSeconds
 * Returns {created (0|1), tokenId, token, status, activeUntil ('' if none), rank (-1 if not waiting),
 *          rate ('' if unknown), paused ('1' or '')}.
 * A live entry (WAITING, or ACTIVE before its activeUntil) is returned as it is; anything
 * else is replaced by a new WAITING entry at the end of the line.
 */
export const enqueueScript = new LuaScript(
  'enqueue',
  `${NOW}
local e = redis.call('HMGET', KEYS[1], 'tokenId', 'token', 'status', 'seq', 'activeUntil')
local created = 0
local live = false
if e[1] and e[3] == 'WAITING' then
  live = true
  -- Self-heal: a WAITING entry always has a place in line.
  if e[4] and not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
    redis.call('ZADD', KEYS[2], e[4], ARGV[1])
  end
elseif e[1] and e[3] == 'ACTIVE' and tonumber(e[5]) and tonumber(e[5]) > now then
  live = true
end
if not live then
  local seq = redis.call('INCR', KEYS[4])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'tokenId', ARGV[2], 'token', ARGV[3], 'status', 'WAITING', 'seq', seq, 'activeUntil', '')
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  -- A lapsed ACTIVE entry whose timer has not fired yet must not keep its slot.
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[2], seq, ARGV[1])
  created = 1
  e = {ARGV[2], ARGV[3], 'WAITING', seq, ''}
end
local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
if not rank then rank = -1 end
local rate = redis.call('HGET', KEYS[5], 'rate') or ''
local paused = redis.call('HGET', KEYS[6], 'paused') or ''
return {created, e[1], e[2], e[3], e[5] or '', rank, rate, paused}
`,
);

/**
 * Undoes an enqueue whose workflow could not be started.
 * KEYS: entry, waiting, active, queueEvents; ARGV: userId, tokenId. Returns 1 if removed.
 */
export const dropScript = new LuaScript(
  'drop',
  `
if redis.call('HGET', KEYS[1], 'tokenId') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('PUBLISH', KEYS[4], 'drop')
return 1
`,
);

/**
 * One admission tick.
 * KEYS: waiting, active, queueConfig, queueStats, admitOutbox, queueEvents
 * ARGV: entryKeyPrefix, defaultMaxActive, defaultAdmitPerSecond, activeTtlMs
 * Returns {admitted, expired}.
 *
 * 1. Safety net: active members whose activeUntil has passed leave the active set (their
 *    entry becomes EXPIRED if still ACTIVE), in case an entry's timer was lost.
 * 2. Settings from queueConfig, defaulting to the process configuration.
 * 3. allowance = carry + admitPerSecond × seconds since the last tick (capped at 2 s, so a
 *    stalled loop does not admit a burst); n = min(floor(allowance), free slots, waiting).
 *    Only the fractional part of the allowance carries over.
 * 4. Pops n waiting users in arrival order, marks them ACTIVE until now + TTL, adds them to
 *    the active set and to the outbox the activity signals from.
 * 5. Publishes a queue event when anything moved.
 * 6. Rate EMA (see estimatedWaitSeconds): sample = admitted per second of this tick,
 *    rate = 0.3 × sample + 0.7 × rate, updated only while someone waited and not paused.
 */
export const admitScript = new LuaScript(
  'admit',
  `${NOW}
local expired = 0
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, user in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], user)
  local key = ARGV[1] .. user
  if redis.call('HGET', key, 'status') == 'ACTIVE' then
    redis.call('HSET', key, 'status', 'EXPIRED')
  end
  expired = expired + 1
end

local cfg = redis.call('HMGET', KEYS[3], 'maxActive', 'admitPerSecond', 'paused')
local maxActive = tonumber(cfg[1]) or tonumber(ARGV[2])
local perSecond = tonumber(cfg[2]) or tonumber(ARGV[3])
local paused = cfg[3] == '1'

local st = redis.call('HMGET', KEYS[4], 'lastTickMs', 'carry', 'rate')
local last = tonumber(st[1])
local elapsed = 1000
if last then elapsed = math.min(math.max(now - last, 0), 2000) end
local waiting = redis.call('ZCARD', KEYS[1])
local free = maxActive - redis.call('ZCARD', KEYS[2])
local allowance = 0
if not paused then allowance = (tonumber(st[2]) or 0) + perSecond * elapsed / 1000 end
local n = math.min(math.floor(allowance), free, waiting)

local admitted = 0
local activeUntil = string.format('%d', now + tonumber(ARGV[4]))
while admitted < n do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then break end
  local user = popped[1]
  local key = ARGV[1] .. user
  local e = redis.call('HMGET', key, 'status', 'tokenId')
  -- A member whose entry is gone or no longer waiting is dropped without using a slot.
  if e[1] == 'WAITING' then
    redis.call('HSET', key, 'status', 'ACTIVE', 'activeUntil', activeUntil)
    redis.call('ZADD', KEYS[2], activeUntil, user)
    redis.call('RPUSH', KEYS[5], user .. '|' .. e[2] .. '|' .. activeUntil)
    admitted = admitted + 1
  end
end

if admitted > 0 or expired > 0 then
  redis.call('PUBLISH', KEYS[6], 'tick')
end

local rate = tonumber(st[3])
if waiting > 0 and not paused and elapsed > 0 then
  local sample = admitted * 1000 / elapsed
  if rate then rate = 0.3 * sample + 0.7 * rate else rate = sample end
end
redis.call('HSET', KEYS[4], 'lastTickMs', string.format('%d', now), 'carry', tostring(allowance - math.floor(allowance)))
if rate then redis.call('HSET', KEYS[4], 'rate', tostring(rate)) end
return {admitted, expired}
`,
);

/**
 * Ends an entry if it still carries the token: KEYS: entry, waiting, active, queueEvents;
 * ARGV: userId, tokenId, status. A terminal status already written is kept. Returns 1 if
 * the entry matched.
 */
export const finishScript = new LuaScript(
  'finish',
  `
if redis.call('HGET', KEYS[1], 'tokenId') ~= ARGV[2] then return 0 end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'WAITING' or status == 'ACTIVE' then
  redis.call('HSET', KEYS[1], 'status', ARGV[3])
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('PUBLISH', KEYS[4], 'finish')
return 1
`,
);

/**
 * Spends the user's live entry: KEYS: entry, waiting, active, queueEvents; ARGV: userId.
 * Returns the entry's tokenId, or nil when no live entry exists.
 */
export const completeScript = new LuaScript(
  'complete',
  `${NOW}
local e = redis.call('HMGET', KEYS[1], 'tokenId', 'status', 'activeUntil')
if not e[1] then return false end
local live = e[2] == 'WAITING' or (e[2] == 'ACTIVE' and tonumber(e[3]) ~= nil and tonumber(e[3]) > now)
if not live then return false end
redis.call('HSET', KEYS[1], 'status', 'COMPLETED')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('PUBLISH', KEYS[4], 'complete')
return e[1]
`,
);
