#!lua
-- grabEnvelope-rain.lua: one member grabs one share of a red-envelope rain, atomically, and hands the
-- grab over through the rain's stream in the same call (decision 0032: the stream's consumer copies it
-- to PostgreSQL and credits the wallet).
-- KEYS[1]   meta hash of the rain: status (ONLINE|CLOSED|RECONCILING), startsAt, endsAt (ms), remaining,
--           currency, grabbedMinor, seq (grabs so far), lastAmount, lastMember, lastAt (updated here)
-- KEYS[2]   grabs hash: memberId -> "<amountMinor>:<atMs>:<seq>" (doubles as the one-grab-per-member set)
-- KEYS[3]   the rain's stream (one entry per grab: rainId, memberId, minor, at, seq, currency)
-- KEYS[4..] the share lists (shards), each holding amounts in minor units
-- ARGV[1]   memberId
-- ARGV[2]   now (ms since epoch)
-- ARGV[3]   first shard to try (0-based; the caller spreads members over the shards)
-- ARGV[4]   rainId
-- returns   { code, amountMinor, remaining }: code 1 OK, 2 ALREADY_GRABBED (amount = the earlier
--           share), 3 SOLD_OUT, 4 NOT_ONLINE (unknown, closed, being reconciled, before startsAt or from endsAt on)
local meta = redis.call('HMGET', KEYS[1], 'status', 'startsAt', 'endsAt', 'remaining', 'currency')
if meta[1] ~= 'ONLINE' then return { 4, 0, 0 } end
local now = tonumber(ARGV[2])
if now < tonumber(meta[2]) or now >= tonumber(meta[3]) then return { 4, 0, 0 } end
local prev = redis.call('HGET', KEYS[2], ARGV[1])
if prev then
  return { 2, tonumber(string.match(prev, '^(%d+)')), tonumber(meta[4]) }
end
local n = #KEYS - 3
local start = tonumber(ARGV[3]) % n
for i = 0, n - 1 do
  local share = redis.call('LPOP', KEYS[4 + ((start + i) % n)])
  if share then
    local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    redis.call('HSET', KEYS[2], ARGV[1], share .. ':' .. ARGV[2] .. ':' .. seq)
    local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
    redis.call('HINCRBY', KEYS[1], 'grabbedMinor', tonumber(share))
    redis.call('HSET', KEYS[1], 'lastAmount', share, 'lastMember', ARGV[1], 'lastAt', ARGV[2])
    redis.call('XADD', KEYS[3], '*', 'rainId', ARGV[4], 'memberId', ARGV[1], 'minor', share, 'at', ARGV[2], 'seq', seq,
      'currency', meta[5])
    return { 1, tonumber(share), remaining }
  end
end
return { 3, 0, 0 }
