/**
 * The Lua scripts of one bucket (see KeyLayout): claimed ids, request runs, sessions and their
 * expiry indexes, which share the bucket's hash tag so each write moves its index with it.
 * Times are the caller's (`now` is passed in), never Redis's clock: the contract's times are the
 * server's clock, which tests fake.
 */

/** KEYS: ids. ARGV: now, expiry, then keys. Returns 1 (claimed now) or 0 per key. */
export const CLAIM_IDS = `
local now = tonumber(ARGV[1])
local out = {}
for i = 3, #ARGV do
  local expiry = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if expiry and tonumber(expiry) > now then out[#out + 1] = 0
  else redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i]) out[#out + 1] = 1 end
end
return out
`;

/** Reads a run `<state>|<leaseUntil>|<expiresAt>`, or nothing when absent or expired at `now`. */
const liveRun = `
local function liveRun(key, now)
  local run = redis.call('HGET', KEYS[1], key)
  if not run then return false end
  local state, lease, expiry = string.match(run, '^(%a)|([^|]+)|(.+)$')
  if tonumber(expiry) <= now then return false end
  return state, tonumber(lease), expiry
end
`;

/**
 * KEYS: requests, outcomes, waiters, requestsDue. ARGV: key, now, leaseUntil, expiresAt, instance.
 * Returns: state (new, running, done, confirmed, lost) and, for done, the outcome.
 */
export const CLAIM_REQUEST = `${liveRun}
local key, now = ARGV[1], tonumber(ARGV[2])
local state, lease = liveRun(key, now)
if not state then
  redis.call('HSET', KEYS[1], key, 'r|' .. ARGV[3] .. '|' .. ARGV[4])
  redis.call('HDEL', KEYS[2], key)
  redis.call('HDEL', KEYS[3], key)
  redis.call('ZADD', KEYS[4], ARGV[4], key)
  return { 'new' }
end
if state == 'd' then return { 'done', redis.call('HGET', KEYS[2], key) } end
if state == 'c' then return { 'confirmed' } end
if lease <= now then return { 'lost' } end
local waiting = redis.call('HGET', KEYS[3], key) or ''
if not string.find(' ' .. waiting .. ' ', ' ' .. ARGV[5] .. ' ', 1, true) then
  if waiting == '' then waiting = ARGV[5] else waiting = waiting .. ' ' .. ARGV[5] end
  redis.call('HSET', KEYS[3], key, waiting)
end
return { 'running' }
`;

/** KEYS: requests. ARGV: now, leaseUntil, then keys. */
export const RENEW_REQUESTS = `${liveRun}
local now = tonumber(ARGV[1])
for i = 3, #ARGV do
  local state, lease, expiry = liveRun(ARGV[i], now)
  if state == 'r' and lease > now then redis.call('HSET', KEYS[1], ARGV[i], 'r|' .. ARGV[2] .. '|' .. expiry) end
end
return 0
`;

/**
 * KEYS: requests, outcomes, waiters, requestsDue. ARGV: key, outcome (JSON), now, expiresAt, channel
 * prefix of instances. Publishes the outcome to every instance whose claim answered running.
 */
export const COMPLETE_REQUEST = `${liveRun}
local key, now = ARGV[1], tonumber(ARGV[3])
local waiting = false
if liveRun(key, now) then waiting = redis.call('HGET', KEYS[3], key) end
redis.call('HSET', KEYS[1], key, 'd|' .. ARGV[3] .. '|' .. ARGV[4])
redis.call('HSET', KEYS[2], key, ARGV[2])
redis.call('HDEL', KEYS[3], key)
redis.call('ZADD', KEYS[4], ARGV[4], key)
if waiting then
  local event = '{"r":[' .. cjson.encode(key) .. ',' .. ARGV[2] .. ']}'
  for instance in string.gmatch(waiting, '%S+') do redis.call('PUBLISH', ARGV[5] .. instance, event) end
end
return 0
`;

/** KEYS: requests, outcomes. ARGV: keys. */
export const CONFIRM_REQUESTS = `
for i = 1, #ARGV do
  local run = redis.call('HGET', KEYS[1], ARGV[i])
  if run and string.sub(run, 1, 1) == 'd' then
    redis.call('HSET', KEYS[1], ARGV[i], 'c' .. string.sub(run, 2))
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
return 0
`;

/**
 * KEYS: ids, requests, outcomes, waiters, requestsDue, sessionsDue. ARGV: now, session key prefix.
 * Returns: sessions removed, ids removed (claimed ids and request ids).
 */
export const SWEEP_BUCKET = `
local now = ARGV[1]
local ids = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local runs = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)
for _, key in ipairs(runs) do
  redis.call('HDEL', KEYS[2], key)
  redis.call('HDEL', KEYS[3], key)
  redis.call('HDEL', KEYS[4], key)
end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
local sessions = 0
-- Session keys are in this bucket's slot by construction (the prefix carries its tag).
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now)) do
  local state = ARGV[2] .. id
  local expiry = redis.call('HGET', state, 'x')
  if expiry and tonumber(expiry) <= tonumber(now) then
    redis.call('UNLINK', state, state .. ':r')
    sessions = sessions + 1
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
return { sessions, ids + #runs }
`;

/** KEYS: state, replies, sessionsDue. ARGV: id, expiresAt, then field/value pairs. Returns 1, or 0 when the id exists. */
export const CREATE_SESSION = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('UNLINK', KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
`;

/**
 * KEYS: state, sessionsDue. ARGV: id, version, tokenHash, previousTokenHash ('' drops it), expiresAt,
 * instance, channel prefix of instances. Returns the new version, or nil when not at `version`.
 * The previous holder, if another instance, hears a `session` event.
 */
export const TAKE_SESSION = `
local fields = redis.call('HMGET', KEYS[1], 'v', 'o')
if not fields[1] or fields[1] ~= ARGV[2] then return false end
local version = tonumber(ARGV[2]) + 1
redis.call('HSET', KEYS[1], 'h', ARGV[3], 'x', ARGV[5], 'v', version, 'o', ARGV[6])
if ARGV[4] == '' then redis.call('HDEL', KEYS[1], 'p') else redis.call('HSET', KEYS[1], 'p', ARGV[4]) end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
if fields[2] and fields[2] ~= ARGV[6] then
  redis.call('PUBLISH', ARGV[7] .. fields[2], '{"s":[' .. cjson.encode(ARGV[1]) .. ',' .. version .. ']}')
end
return version
`;

/**
 * Several sessions of one bucket. KEYS: sessionsDue, then state and replies per update.
 * ARGV per update: id, version, expiresAt ('' unchanged), lastSeq ('' unchanged), doneAbove (JSON),
 * cursor count, (topic, cursor JSON or '' to remove)..., reply count, (seq, reply JSON)...,
 * removal count, seq... Returns 1 (applied) or 0 per update.
 */
export const SAVE_SESSIONS = `
local p = 1
local out = {}
local function take() local value = ARGV[p] p = p + 1 return value end
for u = 1, (#KEYS - 1) / 2 do
  local state, replies = KEYS[2 * u], KEYS[2 * u + 1]
  local id, version, expiry, lastSeq, doneAbove = take(), take(), take(), take(), take()
  local ok = redis.call('HGET', state, 'v') == version
  if ok then
    if expiry ~= '' then
      redis.call('HSET', state, 'x', expiry)
      redis.call('ZADD', KEYS[1], expiry, id)
    end
    if lastSeq ~= '' then redis.call('HSET', state, 'q', lastSeq, 'a', doneAbove) end
  end
  for _ = 1, tonumber(take()) do
    local topic, cursor = take(), take()
    if ok then
      if cursor == '' then redis.call('HDEL', state, 'c:' .. topic) else redis.call('HSET', state, 'c:' .. topic, cursor) end
    end
  end
  for _ = 1, tonumber(take()) do
    local seq, reply = take(), take()
    if ok then redis.call('HSET', replies, seq, reply) end
  end
  for _ = 1, tonumber(take()) do
    local seq = take()
    if ok then redis.call('HDEL', replies, seq) end
  end
  out[#out + 1] = ok and 1 or 0
end
return out
`;

/** KEYS: state, replies. Returns nil, or the state's fields and the replies' fields (HGETALL shape). */
export const LOAD_SESSION = `
local state = redis.call('HGETALL', KEYS[1])
if #state == 0 then return false end
return { state, redis.call('HGETALL', KEYS[2]) }
`;

/** KEYS: state, replies, sessionsDue. ARGV: id, version. */
export const DELETE_SESSION = `
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[2] then return 0 end
redis.call('UNLINK', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`;
