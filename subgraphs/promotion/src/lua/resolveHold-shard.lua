#!lua
-- resolveHold: on the home shard, a HOLD reservation either becomes PENDING with the stock another
-- shard gave (CONFIRM), or is released (RELEASE: the buyer's limit and idempotency key are given back,
-- the reservation reads FAILED) when no shard had stock. Whichever comes first wins; the other answers 0.
-- KEYS[1] reservation hash  KEYS[2] holds zset  KEYS[3] pending zset  KEYS[4] bought hash
-- KEYS[5] open counter  KEYS[6] the reservation's idempotency key  KEYS[7] seq counter  KEYS[8] stream
-- ARGV[1] CONFIRM | RELEASE  ARGV[2] the shard that gave the stock (CONFIRM)  ARGV[3] now (ms)
-- ARGV[4] retention of a released reservation (s)
-- A confirmed reservation gets the home shard's next seq number and its snapshot goes to the stream
-- (the hand-off to order creation and to the PostgreSQL copy, decision 0032); a released one never took stock.
-- returns 1 done now, 0 not (CONFIRM: already confirmed from that shard answers 1 too), -1 unknown reservation
local r = redis.call('HMGET', KEYS[1], 'status', 'quantity', 'buyerId', 'stockShard', 'id')
if not r[1] then return -1 end
if ARGV[1] == 'CONFIRM' then
  if r[1] ~= 'HOLD' then
    if r[4] == ARGV[2] then return 1 end
    return 0
  end
  redis.call('HSET', KEYS[1], 'status', 'PENDING', 'stockShard', ARGV[2], 'seq', redis.call('INCR', KEYS[7]))
  redis.call('HINCRBY', KEYS[1], 'v', 1)
  redis.call('ZREM', KEYS[2], r[5])
  redis.call('ZADD', KEYS[3], tonumber(ARGV[3]), r[5])
  redis.call('XADD', KEYS[8], '*', unpack(redis.call('HGETALL', KEYS[1])))
  return 1
end
if r[1] ~= 'HOLD' then return 0 end
redis.call('HINCRBY', KEYS[4], r[3], -tonumber(r[2]))
redis.call('DECR', KEYS[5])
redis.call('ZREM', KEYS[2], r[5])
redis.call('DEL', KEYS[6])
redis.call('HSET', KEYS[1], 'status', 'FAILED', 'settled', '1', 'reason', 'SOLD_OUT')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
