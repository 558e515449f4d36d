-- closeStock: the unsold rest of one item of an ENDED session, once no reservation is open.
-- The amount is parked in KEYS[4] (set once) and the counter zeroed, so a crash before catalog's
-- inventoryReturn loses nothing: the next run answers the parked amount again.
-- KEYS[1] session hash  KEYS[2] open counter of the session  KEYS[3] stock counter  KEYS[4] returned marker
-- returns the quantity to give back to catalog, or -1 while the session is not ENDED or has open reservations
if redis.call('HGET', KEYS[1], 'status') ~= 'ENDED' then return -1 end
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then return -1 end
local parked = redis.call('GET', KEYS[4])
if parked then return tonumber(parked) end
local s = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('SET', KEYS[4], s)
redis.call('SET', KEYS[3], 0)
return s
