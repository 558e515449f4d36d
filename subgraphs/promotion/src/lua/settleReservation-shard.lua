#!lua
-- settleReservation: moves one reservation on, on its home shard, atomically with its stock bookkeeping.
-- KEYS[1] reservation hash  KEYS[2] pending zset  KEYS[3] ordered zset  KEYS[4] open counter
-- KEYS[5] stock counter of the home shard  KEYS[6] bought hash of the home shard  KEYS[7] the home shard's stream
-- ARGV[1] action: ORDERED | FAILED | CANCELLED | PAID   ARGV[2] orderId (ORDERED) or order status (PAID)
-- ARGV[3] now (ms)  ARGV[4] retention of settled reservations (s)
-- ORDERED:   PENDING -> ORDERED (orderId recorded; watched in the ordered zset until paid or cancelled)
-- FAILED:    PENDING -> FAILED, stock (to the home shard, wherever it was taken) and the buyer's limit go back
-- CANCELLED: ORDERED -> CANCELLED (order cancelled / timed out), stock and the buyer's limit go back
-- PAID:      ORDERED stays ORDERED but is settled (no longer watched; its stock is sold)
-- A settled reservation (FAILED, CANCELLED, PAID) expires after ARGV[4] seconds (its order lives on in order).
-- Every change bumps the reservation's version `v` and adds its snapshot to the stream (the PostgreSQL
-- copy follows it, decision 0032).
-- returns 1 when changed, 0 when already done, -1 when the reservation is unknown or in another state
local st = redis.call('HMGET', KEYS[1], 'status', 'quantity', 'buyerId', 'settled')
if not st[1] then return -1 end
local rid = redis.call('HGET', KEYS[1], 'id')
local function changed()
  redis.call('HINCRBY', KEYS[1], 'v', 1)
  redis.call('XADD', KEYS[7], '*', unpack(redis.call('HGETALL', KEYS[1])))
  return 1
end
local a = ARGV[1]
if a == 'ORDERED' then
  if st[1] == 'ORDERED' then return 0 end
  if st[1] ~= 'PENDING' then return -1 end
  redis.call('HSET', KEYS[1], 'status', 'ORDERED', 'orderId', ARGV[2])
  redis.call('ZREM', KEYS[2], rid)
  redis.call('ZADD', KEYS[3], tonumber(ARGV[3]), rid)
  return changed()
end
if a == 'FAILED' or a == 'CANCELLED' then
  if st[1] == a then return 0 end
  local from = 'PENDING'
  if a == 'CANCELLED' then from = 'ORDERED' end
  if st[1] ~= from or st[4] == '1' then return -1 end
  local q = tonumber(st[2])
  redis.call('HSET', KEYS[1], 'status', a, 'settled', '1')
  redis.call('ZREM', KEYS[2], rid)
  redis.call('ZREM', KEYS[3], rid)
  redis.call('INCRBY', KEYS[5], q)
  redis.call('HINCRBY', KEYS[6], st[3], -q)
  redis.call('DECR', KEYS[4])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
  return changed()
end
if a == 'PAID' then
  if st[4] == '1' then return 0 end
  if st[1] ~= 'ORDERED' then return -1 end
  redis.call('HSET', KEYS[1], 'settled', '1', 'orderStatus', ARGV[2])
  redis.call('ZREM', KEYS[3], rid)
  redis.call('DECR', KEYS[4])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
  return changed()
end
return redis.error_reply('unknown action ' .. a)
