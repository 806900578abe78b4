import type { ScriptSource } from '../redis/scripts';

/*
 * The waiting line's Redis scripts. Each runs atomically, so concurrent API requests,
 * admission ticks from several workers and entry workflows ending never interleave inside one.
 * Every key they touch carries the `{q}` hash tag (see redisKeys), so on a Redis Cluster they
 * all live on one node, including the entries addressed through the prefix in ARGV.
 *
 * Time: every script that needs "now" reads Redis TIME, so all instances share one clock for
 * ordering ticks, stamping `activeUntil` and judging whether an entry is still live.
 */

/** `now` in epoch milliseconds from Redis TIME. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Enqueue-if-absent.
 * KEYS: entry, waiting, active, seq, stats. ARGV: userId, tokenId, token, entryTtlSeconds.
 * Returns {created (0|1), tokenId, token, status, activeUntil ('' if none), rank (-1 if not
 * waiting), rate ('' if unknown), paused ('1' or '')}. A live entry (WAITING, or ACTIVE before
 * its activeUntil) is returned as it is; anything else is replaced by a new WAITING entry at the
 * end of the line.
 */
const enqueue: ScriptSource = {
  keys: 5,
  lua: `${NOW}
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
local s = redis.call('HMGET', KEYS[5], 'rate', 'paused')
return {created, e[1], e[2], e[3], e[5] or '', rank, s[1] or '', s[2] or ''}
`,
};

/**
 * One admission tick.
 * KEYS: waiting, active, stats, outbox, events.
 * ARGV: entryKeyPrefix, maxActive, admitPerSecond, paused (0|1), activeTtlMs.
 * Returns {admitted, expired}.
 *
 * 1. Safety net: active members whose activeUntil has passed leave the active set (their
 *    entry becomes EXPIRED if still ACTIVE), so a slot comes back even if its workflow is lost.
 * 2. allowance = carry + admitPerSecond × seconds since the last tick (capped at 2 s, so a
 *    stalled loop does not admit a burst); n = min(floor(allowance), free slots, waiting).
 *    Only the fractional part of the allowance carries over.
 * 3. Pops n waiting users in arrival order, marks them ACTIVE until now + TTL, adds them to the
 *    active set and to the outbox from which the activity starts their entry workflows.
 * 4. Publishes a queue event when anything moved; records `paused` for the estimates.
 * 5. Rate EMA (see estimateWaitSeconds): sample = admitted per second of this tick,
 *    rate = 0.3 × sample + 0.7 × rate, updated only while someone waited and not paused.
 */
const admit: ScriptSource = {
  keys: 5,
  lua: `${NOW}
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

local maxActive = tonumber(ARGV[2])
local perSecond = tonumber(ARGV[3])
local paused = ARGV[4] == '1'

local st = redis.call('HMGET', KEYS[3], 'lastTickMs', 'carry', 'rate', 'paused')
local last = tonumber(st[1])
local elapsed = 1000
if last then elapsed = math.min(math.max(now - last, 0), 2000) end
local waiting = redis.call('ZCARD', KEYS[1])
local free = maxActive - redis.call('ZCARD', KEYS[2])
local allowance = 0
if not paused then allowance = (tonumber(st[2]) or 0) + perSecond * elapsed / 1000 end
local n = math.min(math.floor(allowance), free, waiting)

local admitted = 0
local activeUntil = string.format('%d', now + tonumber(ARGV[5]))
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
    redis.call('RPUSH', KEYS[4], user .. '|' .. e[2] .. '|' .. activeUntil)
    admitted = admitted + 1
  end
end

local pausedFlag = ''
if paused then pausedFlag = '1' end
if admitted > 0 or expired > 0 or (st[4] or '') ~= pausedFlag then
  redis.call('PUBLISH', KEYS[5], 'tick')
end

local rate = tonumber(st[3])
if waiting > 0 and not paused and elapsed > 0 then
  local sample = admitted * 1000 / elapsed
  if rate then rate = 0.3 * sample + 0.7 * rate else rate = sample end
end
redis.call('HSET', KEYS[3], 'lastTickMs', string.format('%d', now),
  'carry', tostring(allowance - math.floor(allowance)), 'paused', pausedFlag)
if rate then redis.call('HSET', KEYS[3], 'rate', tostring(rate)) end
return {admitted, expired}
`,
};

/**
 * An admission's entry workflow is running: KEYS: outbox, entry; ARGV: outbox item, tokenId.
 * Removes the item and marks the entry (if it still carries the token) as having its workflow.
 */
const started: ScriptSource = {
  keys: 2,
  lua: `
redis.call('LREM', KEYS[1], 1, ARGV[1])
if redis.call('HGET', KEYS[2], 'tokenId') == ARGV[2] then
  redis.call('HSET', KEYS[2], 'workflow', '1')
end
return 1
`,
};

/**
 * The entry's active time is up, or it was spent: KEYS: entry, waiting, active, events;
 * ARGV: userId, tokenId, status (EXPIRED | COMPLETED).
 * Returns {ended (0|1), activeUntil}. An EXPIRED request for an entry whose window a hold has
 * extended past now ends nothing and answers the new activeUntil, so its workflow sleeps on.
 * Otherwise, if the entry still carries the token, a live status becomes `status` (a terminal
 * one is kept) and the place and slot are freed.
 */
const finish: ScriptSource = {
  keys: 4,
  lua: `${NOW}
local e = redis.call('HMGET', KEYS[1], 'tokenId', 'status', 'activeUntil')
if e[1] ~= ARGV[2] then return {1, ''} end
local untilMs = tonumber(e[3])
if ARGV[3] == 'EXPIRED' and e[2] == 'ACTIVE' and untilMs and untilMs > now then
  return {0, e[3]}
end
if e[2] == 'WAITING' or e[2] == 'ACTIVE' then
  redis.call('HSET', KEYS[1], 'status', ARGV[3])
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('PUBLISH', KEYS[4], 'finish')
return {1, ''}
`,
};

/**
 * Spends the user's live entry (the payment's token, or any live one when ARGV[2] is empty):
 * KEYS: entry, waiting, active, events; ARGV: userId, tokenId.
 * Returns the entry's tokenId, or nil when no live entry (with that token) exists.
 */
const complete: ScriptSource = {
  keys: 4,
  lua: `${NOW}
local e = redis.call('HMGET', KEYS[1], 'tokenId', 'status', 'activeUntil')
if not e[1] or (ARGV[2] ~= '' and e[1] ~= ARGV[2]) then return false end
local live = e[2] == 'WAITING' or (e[2] == 'ACTIVE' and tonumber(e[3]) ~= nil and tonumber(e[3]) > now)
if not live then return false end
redis.call('HSET', KEYS[1], 'status', 'COMPLETED')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('PUBLISH', KEYS[4], 'complete')
return e[1]
`,
};

/**
 * A hold keeps its user admitted until it lapses: KEYS: entry, active; ARGV: userId, untilMs.
 * Moves an ACTIVE entry's activeUntil (and its active-set score) up to untilMs, never down.
 * Returns the entry's activeUntil afterwards, or nil when the entry is not ACTIVE.
 */
const extend: ScriptSource = {
  keys: 2,
  lua: `
local e = redis.call('HMGET', KEYS[1], 'status', 'activeUntil')
if e[1] ~= 'ACTIVE' then return false end
local untilMs = tonumber(e[2]) or 0
if tonumber(ARGV[2]) > untilMs then
  untilMs = tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'activeUntil', ARGV[2])
  redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1])
end
return string.format('%d', untilMs)
`,
};

export const queueScripts = { enqueue, admit, started, finish, complete, extend };
