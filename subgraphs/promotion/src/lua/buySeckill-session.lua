-- buySeckill: one seckill purchase, atomically: idempotency key, session online and in time,
-- per-user limit, stock, and the reservation record — all or nothing.
-- KEYS[1] session hash {status, startsMs, endsMs}
-- KEYS[2] item hash {limit, price, currency}
-- KEYS[3] stock counter of the item
-- KEYS[4] bought hash (buyerId -> quantity held by the buyer's live reservations)
-- KEYS[5] idempotency key -> reservationId (one-time; expires)
-- KEYS[6] reservation hash (new)
-- KEYS[7] pending zset (reservationId by creation ms; the sweeper's work list)
-- KEYS[8] open counter of the session (reservations not yet settled)
-- ARGV[1] buyerId  ARGV[2] quantity  ARGV[3] now (ms)  ARGV[4] new reservationId
-- ARGV[5] idempotency key TTL (s)  ARGV[6] sessionId  ARGV[7] skuId
-- returns {code, reservationId or ""}: OK | DUPLICATE (the earlier reservationId) | BAD_QUANTITY
--   | NOT_ONLINE (not online, not in time, or SKU not in the session) | LIMIT_EXCEEDED | SOLD_OUT
local existing = redis.call('GET', KEYS[5])
if existing then return {'DUPLICATE', existing} end
local q = tonumber(ARGV[2])
if not q or q < 1 or q ~= math.floor(q) then return {'BAD_QUANTITY', ''} end
local s = redis.call('HMGET', KEYS[1], 'status', 'startsMs', 'endsMs')
local now = tonumber(ARGV[3])
if s[1] ~= 'ONLINE' or now < tonumber(s[2]) or now >= tonumber(s[3]) then return {'NOT_ONLINE', ''} end
local item = redis.call('HMGET', KEYS[2], 'limit', 'price', 'currency')
local limit = tonumber(item[1])
if not limit then return {'NOT_ONLINE', ''} end
local bought = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
if bought + q > limit then return {'LIMIT_EXCEEDED', ''} end
local stock = tonumber(redis.call('GET', KEYS[3]) or '0')
if stock < q then return {'SOLD_OUT', ''} end
redis.call('DECRBY', KEYS[3], q)
redis.call('HINCRBY', KEYS[4], ARGV[1], q)
redis.call('HSET', KEYS[6], 'id', ARGV[4], 'sessionId', ARGV[6], 'skuId', ARGV[7], 'buyerId', ARGV[1],
  'quantity', q, 'unitPrice', item[2], 'currency', item[3], 'status', 'PENDING', 'createdMs', ARGV[3])
redis.call('ZADD', KEYS[7], now, ARGV[4])
redis.call('INCR', KEYS[8])
redis.call('SET', KEYS[5], ARGV[4], 'EX', tonumber(ARGV[5]))
return {'OK', ARGV[4]}
