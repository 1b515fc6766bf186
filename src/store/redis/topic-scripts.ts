/**
 * The Lua scripts of one topic (all their keys share the topic's hash tag, see KeyLayout), and the
 * deployment-wide topic count. Each runs atomically in Redis: an append batch of one topic is one
 * script call that checks its dedupKeys, creates the topic (with its epoch), assigns dense offsets,
 * compacts, and publishes the `appended` notification, all or nothing.
 */

/** Shared by the scripts below: an entry's field, and epoch names (see epochName). */
const helpers = `
local function field(fields, name)
  for j = 1, #fields, 2 do if fields[j] == name then return fields[j + 1] end end
  return false
end
local function offsetOf(id) return tonumber(string.match(id, '^(%d+)')) end
`;

/**
 * KEYS: meta, log, keys, dedup, dedupOffsets, gone.
 * ARGV: epoch for a new topic, permit ('1': may create), channel, mark ('1': a batch that writes
 * nothing because its entries are duplicates still makes one write, so that a WAIT behind it on the
 * same connection covers the original appends, possibly made by another node), n, then 8 per entry: data (JSON),
 * mode (p plain, k keyed, c compacted), key, dedupKey ('' none), dedup expiry, time, create ('0'/'1'),
 * maxKeys ('' none).
 * Returns: epoch, exists (0/1), created (0/1), then per entry a code (n new, d duplicate, t no such
 * topic and create false, m no permit: maxTopics, k maxKeys) and an offset.
 */
export const APPEND = `${helpers}
local meta, log, keys, dedup, dedupOffsets, gone = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local epoch = redis.call('HGET', meta, 'epoch')
local head = 0
if epoch then head = tonumber(redis.call('HGET', meta, 'head')) end
local created = 0
local out = {}
local events = {}

-- A topic's histories get increasing epoch numbers even when this node's idea of the deployment's
-- counter is stale: never the number of the history that ended here (its tombstone says which).
local function newEpoch()
  local base, n = string.match(ARGV[1], '^(.-)%.(%d+)$')
  if base then n = tonumber(n) else base, n = ARGV[1], 0 end
  local old = redis.call('GET', gone)
  if old then
    local oldBase, oldN = string.match(old, '^(.-)%.(%d+)$')
    if oldBase then oldN = tonumber(oldN) else oldBase, oldN = old, 0 end
    if oldBase == base and oldN >= n then n = oldN + 1 end
  end
  if n == 0 then return base end
  return base .. '.' .. n
end

local duplicates = 0
for i = 0, tonumber(ARGV[5]) - 1 do
  local b = 6 + i * 8
  local data, mode, key, dk, dexp, time, create, maxKeys = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7]
  local code, offset = 'n', 0
  -- The dedupKey is claimed first (ZADD NX: one call for the common case, a new key); a key
  -- already there is a duplicate unless its expiry passed; a claim whose entry is refused below
  -- is given back: removed, or, when it had taken over an expired key, that key's expiry put back
  -- (the key stays as it was until the sweep removes it, offset field and all).
  local claimed, expired = false, false
  if dk ~= '' then
    if redis.call('ZADD', dedup, 'NX', dexp, dk) == 1 then
      claimed = true
    else
      local expiry = redis.call('ZSCORE', dedup, dk)
      if tonumber(expiry) > tonumber(time) then
        code = 'd'
        duplicates = duplicates + 1
        offset = tonumber(redis.call('HGET', dedupOffsets, dk)) or 0
      else
        redis.call('ZADD', dedup, dexp, dk)
        claimed, expired = true, expiry
      end
    end
  end
  local previous = false
  if code == 'n' and not epoch then
    if create == '0' then code = 't' elseif ARGV[2] ~= '1' then code = 'm' end
  end
  if code == 'n' and mode == 'c' then
    if epoch then previous = redis.call('HGET', keys, key) end
    if not previous and maxKeys ~= '' and (epoch and redis.call('HLEN', keys) or 0) >= tonumber(maxKeys) then code = 'k' end
  end
  if code == 'n' then
    if not epoch then
      epoch = newEpoch()
      redis.call('HSET', meta, 'epoch', epoch)
      redis.call('DEL', gone)
      created = 1
    end
    head = head + 1
    offset = head
    if mode == 'p' then
      redis.call('XADD', log, head .. '-0', 'd', data, 't', time)
      events[#events + 1] = '[' .. head .. ',' .. time .. ',' .. data .. ']'
    else
      redis.call('XADD', log, head .. '-0', 'd', data, 't', time, 'k', key)
      events[#events + 1] = '[' .. head .. ',' .. time .. ',' .. data .. ',' .. cjson.encode(key) .. ']'
    end
    if mode == 'c' then
      if previous then redis.call('XDEL', log, previous .. '-0') end
      redis.call('HSET', keys, key, head)
    end
    if dk ~= '' then redis.call('HSET', dedupOffsets, dk, head) end
  elseif expired then
    redis.call('ZADD', dedup, expired, dk)
  elseif claimed then
    redis.call('ZREM', dedup, dk)
  end
  out[#out + 1] = code
  out[#out + 1] = offset
end
if #events > 0 then
  redis.call('HSET', meta, 'head', head)
  redis.call('PUBLISH', ARGV[3], '{"e":' .. cjson.encode(epoch) .. ',"m":[' .. table.concat(events, ',') .. ']}')
elseif ARGV[4] == '1' and duplicates > 0 and epoch then
  -- Replication is one ordered stream: this write comes after the originals on every replica.
  redis.call('HINCRBY', meta, 'mark', 1)
end
local result = { epoch or ARGV[1], epoch and 1 or 0, created }
for j = 1, #out do result[#result + 1] = out[j] end
return result
`;

/**
 * KEYS: meta, log. ARGV: start ID ('-' or '<offset>-0'), limit, maxBytes ('' none).
 * Returns nil for a topic that holds nothing, else: epoch, head, first, entries (XRANGE shape).
 */
export const READ = `${helpers}
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return false end
local head = tonumber(redis.call('HGET', KEYS[1], 'head'))
local oldest = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local first = head + 1
if oldest[1] then first = offsetOf(oldest[1][1]) end
local limit = tonumber(ARGV[2])
local entries = {}
if limit > 0 then
  entries = redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', limit)
  if ARGV[3] ~= '' then
    local budget, bytes = tonumber(ARGV[3]), 0
    for j = 1, #entries do
      bytes = bytes + #field(entries[j][2], 'd')
      if bytes > budget then
        for k = #entries, j + 1, -1 do entries[k] = nil end
        break
      end
    end
  end
end
return { epoch, head, first, entries }
`;

/**
 * KEYS: meta, log, keys. ARGV: maxCount ('' none), age cutoff ('' none: messages with time < cutoff
 * go), most removals in this call (the caller calls again while `more`, so Redis is never blocked
 * long). Returns: removed, more (0/1), left (messages retained), oldest time (or false); nil for a
 * topic that holds nothing.
 */
export const TRIM = `${helpers}
local meta, log, keys = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', meta) == 0 then return false end
local budget = tonumber(ARGV[3])
local keyed = redis.call('EXISTS', keys) == 1
local removed = 0
local function dropOldest(count)
  if count <= 0 then return end
  if keyed then
    for _, entry in ipairs(redis.call('XRANGE', log, '-', '+', 'COUNT', count)) do
      local key = field(entry[2], 'k')
      if key and tonumber(redis.call('HGET', keys, key)) == offsetOf(entry[1]) then redis.call('HDEL', keys, key) end
    end
  end
  redis.call('XTRIM', log, 'MAXLEN', '=', redis.call('XLEN', log) - count)
  removed = removed + count
  budget = budget - count
end
local more = 0
if ARGV[1] ~= '' then
  local excess = redis.call('XLEN', log) - tonumber(ARGV[1])
  if excess > budget then more = 1 end
  dropOldest(math.min(math.max(excess, 0), budget))
end
if ARGV[2] ~= '' and more == 0 then
  local cutoff = tonumber(ARGV[2])
  local old, start, young = 0, '-', false
  while old < budget and not young do
    local page = redis.call('XRANGE', log, start, '+', 'COUNT', math.min(100, budget - old))
    if #page == 0 then young = true break end
    for j = 1, #page do
      -- Times grow with offsets (one clock), so the first young message ends the scan.
      if tonumber(field(page[j][2], 't')) < cutoff then old = old + 1 else young = true break end
    end
    start = '(' .. page[#page][1]
  end
  if not young then more = 1 end
  dropOldest(old)
end
local left = redis.call('XLEN', log)
local oldest = false
if left > 0 then oldest = field(redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1][2], 't') end
return { removed, more, left, oldest }
`;

/**
 * Forgets a topic left retaining nothing, once the deployment's epoch counter has moved on (the
 * caller did that first: a crash between the two leaves an empty topic, never a reused epoch).
 * KEYS: meta, log, keys, gone. ARGV: tombstone TTL (ms). Returns 1, or the oldest time when an
 * append came in meanwhile (then nothing is forgotten); 0 for a topic that holds nothing.
 */
export const FORGET = `${helpers}
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then return 0 end
if redis.call('XLEN', KEYS[2]) > 0 then return { field(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1][2], 't') } end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SET', KEYS[4], epoch, 'PX', ARGV[1])
return 1
`;

/** KEYS: dedup, dedupOffsets. ARGV: now. Returns: how many expired, and the next expiry (or false). */
export const SWEEP_DEDUP = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, key in ipairs(expired) do redis.call('HDEL', KEYS[2], key) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local next = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { #expired, next[2] or false }
`;

/**
 * Permits to create topics within maxTopics. KEYS: topics. ARGV: maxTopics, then topics.
 * Returns 1 (counted: it exists, or may be created now) or 0 per topic.
 */
export const PERMIT = `
local max = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then out[#out + 1] = 1
  elseif redis.call('SCARD', KEYS[1]) < max then redis.call('SADD', KEYS[1], ARGV[i]) out[#out + 1] = 1
  else out[#out + 1] = 0 end
end
return out
`;
