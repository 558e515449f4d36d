#!lua
-- buySeckill: one seckill purchase on the buyer's HOME shard, atomically: idempotency key, session
-- online and in time, per-user limit, stock, and the reservation record — all or nothing. When the
-- home shard has too little stock (and the item has other shards) the limit is reserved here and the
-- reservation recorded as HOLD, to be confirmed with stock taken from another shard
-- (takeStock-shard.lua, resolveHold-shard.lua) or released.
-- KEYS[1] meta hash {status, startsMs, endsMs, limit, price, currency, shards}
-- KEYS[2] stock counter of the shard
-- KEYS[3] bought hash (buyerId -> quantity held by the buyer's live reservations)
-- KEYS[4] idempotency key -> reservationId (one-time; expires)
-- KEYS[5] reservation hash (new)
-- KEYS[6] pending zset (reservationId by creation ms; the sweeper's work list)
-- KEYS[7] open counter of the shard (reservations not yet settled)
-- KEYS[8] holds zset (HOLD reservations by creation ms)
-- KEYS[9] seq counter of the shard  KEYS[10] the shard's stream (decision 0032)
-- ARGV[1] buyerId  ARGV[2] quantity  ARGV[3] now (ms)  ARGV[4] new reservationId
-- ARGV[5] idempotency key TTL (s)  ARGV[6] sessionId  ARGV[7] skuId  ARGV[8] this shard's index
-- A reservation that took stock (PENDING) gets the shard's next seq number and its snapshot is added to
-- the stream in this same call: the hand-off to order creation and to the PostgreSQL copy. A HOLD is not
-- (it is added when it is confirmed, resolveHold-shard.lua).
-- returns {code, reservationId or ""}: OK | HOLD | DUPLICATE (the earlier reservationId) | BAD_QUANTITY
--   | NOT_ONLINE (not online, not in time, or not armed) | LIMIT_EXCEEDED | SOLD_OUT
local existing = redis.call('GET', KEYS[4])
if existing then return {'DUPLICATE', existing} end
local q = tonumber(ARGV[2])
if not q or q < 1 or q ~= math.floor(q) then return {'BAD_QUANTITY', ''} end
local m = redis.call('HMGET', KEYS[1], 'status', 'startsMs', 'endsMs', 'limit', 'price', 'currency', 'shards')
local now = tonumber(ARGV[3])
local limit = tonumber(m[4])
if m[1] ~= 'ONLINE' or not limit or now < tonumber(m[2]) or now >= tonumber(m[3]) then return {'NOT_ONLINE', ''} end
local bought = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if bought + q > limit then return {'LIMIT_EXCEEDED', ''} end
local stock = tonumber(redis.call('GET', KEYS[2]) or '0')
local status = 'PENDING'
if stock < q then
  if tonumber(m[7] or '1') <= 1 then return {'SOLD_OUT', ''} end
  status = 'HOLD'
end
if status == 'PENDING' then
  redis.call('DECRBY', KEYS[2], q)
  redis.call('ZADD', KEYS[6], now, ARGV[4])
else
  redis.call('ZADD', KEYS[8], now, ARGV[4])
end
redis.call('HINCRBY', KEYS[3], ARGV[1], q)
local fields = {'id', ARGV[4], 'sessionId', ARGV[6], 'skuId', ARGV[7], 'buyerId', ARGV[1], 'quantity', q,
  'unitPrice', m[5], 'currency', m[6], 'status', status, 'createdMs', ARGV[3], 'home', ARGV[8], 'idemKey', KEYS[4], 'v', 1}
if status == 'PENDING' then
  local n = #fields
  fields[n + 1] = 'stockShard'
  fields[n + 2] = ARGV[8]
  fields[n + 3] = 'seq'
  fields[n + 4] = redis.call('INCR', KEYS[9])
end
redis.call('HSET', KEYS[5], unpack(fields))
redis.call('INCR', KEYS[7])
redis.call('SET', KEYS[4], ARGV[4], 'EX', tonumber(ARGV[5]))
if status == 'HOLD' then return {'HOLD', ARGV[4]} end
redis.call('XADD', KEYS[10], '*', unpack(fields))
return {'OK', ARGV[4]}
