#!lua
-- settleTake: the end of a take recorded by takeStock-shard.lua. KEEP: the home confirmed the
-- reservation with this stock (the marker goes). RETURN: the home released it (the stock comes back).
-- KEYS[1] stock counter  KEYS[2] takes hash  KEYS[3] takesAt zset
-- ARGV[1] reservationId  ARGV[2] KEEP | RETURN
-- returns the quantity settled, 0 when there was nothing to settle (done before)
local q = redis.call('HGET', KEYS[2], ARGV[1])
if not q then return 0 end
if ARGV[2] == 'RETURN' then redis.call('INCRBY', KEYS[1], tonumber(q)) end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return tonumber(q)
