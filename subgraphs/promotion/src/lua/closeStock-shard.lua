#!lua
-- closeStock: closes one shard of an ENDED or CANCELLED session (no more buys or takes here) and,
-- once no reservation homed here is open and no stock given away is unsettled, parks the unsold rest
-- for catalog. Parked once: a crash before catalog's inventoryReturn loses nothing, the next run
-- answers the parked amount again.
-- KEYS[1] meta hash  KEYS[2] open counter  KEYS[3] stock counter  KEYS[4] returned marker  KEYS[5] takesAt zset
-- ARGV[1] ENDED | CANCELLED  ARGV[2] the shard's initial stock (a session cancelled before it was armed)
-- returns the quantity to give back to catalog, or -1 while reservations or takes are open
redis.call('HSET', KEYS[1], 'status', ARGV[1])
redis.call('SET', KEYS[3], ARGV[2], 'NX')
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then return -1 end
if redis.call('ZCARD', KEYS[5]) > 0 then return -1 end
local parked = redis.call('GET', KEYS[4])
if parked then return tonumber(parked) end
local s = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('SET', KEYS[4], s)
redis.call('SET', KEYS[3], 0)
return s
