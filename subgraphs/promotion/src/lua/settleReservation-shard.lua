#!lua
-- settleReservation: moves reservations on, on their home shard, atomically with its stock bookkeeping —
-- one or many in one call (the stream consumer settles a whole batch of orders made together: decision 0036).
-- KEYS[1] pending zset  KEYS[2] ordered zset  KEYS[3] open counter  KEYS[4] stock counter of the home shard
-- KEYS[5] bought hash of the home shard  KEYS[6] the home shard's stream  KEYS[7..] the reservation hashes
-- ARGV[1] action: ORDERED | FAILED | CANCELLED | PAID   ARGV[2] now (ms)  ARGV[3] retention of settled reservations (s)
-- ARGV[4..] per reservation (in KEYS' order): the orderId (ORDERED), the order status (PAID), anything otherwise
-- ORDERED:   PENDING -> ORDERED (orderId recorded; watched in the ordered zset until paid or cancelled)
-- FAILED:    PENDING -> FAILED, stock (to the home shard, wherever it was taken) and the buyer's limit go back
-- CANCELLED: ORDERED -> CANCELLED (order cancelled / timed out), stock and the buyer's limit go back
-- PAID:      ORDERED stays ORDERED but is settled (no longer watched; its stock is sold)
-- A settled reservation (FAILED, CANCELLED, PAID) expires after ARGV[3] seconds (its order lives on in order).
-- Every change bumps the reservation's version `v` and adds its snapshot to the stream (the PostgreSQL
-- copy follows it, decision 0032).
-- returns, per reservation: 1 when changed, 0 when already done, -1 when unknown or in another state
local a = ARGV[1]
if a ~= 'ORDERED' and a ~= 'FAILED' and a ~= 'CANCELLED' and a ~= 'PAID' then return redis.error_reply('unknown action ' .. a) end
local function settle(res, arg)
  local st = redis.call('HMGET', res, 'status', 'quantity', 'buyerId', 'settled')
  if not st[1] then return -1 end
  local rid = redis.call('HGET', res, 'id')
  local function changed()
    redis.call('HINCRBY', res, 'v', 1)
    redis.call('XADD', KEYS[6], '*', unpack(redis.call('HGETALL', res)))
    return 1
  end
  if a == 'ORDERED' then
    if st[1] == 'ORDERED' then return 0 end
    if st[1] ~= 'PENDING' then return -1 end
    redis.call('HSET', res, 'status', 'ORDERED', 'orderId', arg)
    redis.call('ZREM', KEYS[1], rid)
    redis.call('ZADD', KEYS[2], tonumber(ARGV[2]), rid)
    return changed()
  end
  if a == 'FAILED' or a == 'CANCELLED' then
    if st[1] == a then return 0 end
    local from = 'PENDING'
    if a == 'CANCELLED' then from = 'ORDERED' end
    if st[1] ~= from or st[4] == '1' then return -1 end
    local q = tonumber(st[2])
    redis.call('HSET', res, 'status', a, 'settled', '1')
    redis.call('ZREM', KEYS[1], rid)
    redis.call('ZREM', KEYS[2], rid)
    redis.call('INCRBY', KEYS[4], q)
    redis.call('HINCRBY', KEYS[5], st[3], -q)
    redis.call('DECR', KEYS[3])
    redis.call('EXPIRE', res, tonumber(ARGV[3]))
    return changed()
  end
  if a == 'PAID' then
    if st[4] == '1' then return 0 end
    if st[1] ~= 'ORDERED' then return -1 end
    redis.call('HSET', res, 'settled', '1', 'orderStatus', arg)
    redis.call('ZREM', KEYS[2], rid)
    redis.call('DECR', KEYS[3])
    redis.call('EXPIRE', res, tonumber(ARGV[3]))
    return changed()
  end
end
local out = {}
for i = 7, #KEYS do out[#out + 1] = settle(KEYS[i], ARGV[i - 3]) end
return out
