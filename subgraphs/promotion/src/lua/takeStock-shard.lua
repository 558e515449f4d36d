#!lua
-- takeStock: another shard gives stock to a HOLD reservation homed elsewhere (its home was sold out).
-- The take is recorded (takes / takesAt) until the home confirms or releases the reservation, so a
-- process dying in between loses nothing: the sweeper keeps or returns it (settleTake-shard.lua).
-- KEYS[1] meta hash  KEYS[2] stock counter  KEYS[3] takes hash (reservationId -> quantity)  KEYS[4] takesAt zset
-- ARGV[1] reservationId  ARGV[2] quantity  ARGV[3] now (ms)
-- returns 1 taken (or taken before for this reservation), 0 not enough stock here, -1 not online here
local m = redis.call('HMGET', KEYS[1], 'status', 'startsMs', 'endsMs')
local now = tonumber(ARGV[3])
if m[1] ~= 'ONLINE' or not m[2] or now < tonumber(m[2]) or now >= tonumber(m[3]) then return -1 end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 1 end
local q = tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[2]) or '0') < q then return 0 end
redis.call('DECRBY', KEYS[2], q)
redis.call('HSET', KEYS[3], ARGV[1], q)
redis.call('ZADD', KEYS[4], now, ARGV[1])
return 1
