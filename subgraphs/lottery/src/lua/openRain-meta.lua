#!lua
-- openRain-meta.lua: makes an armed red-envelope rain grabbable by writing its meta hash, once
-- (the last step of the durable rain creation, src/workflows/createRain.ts).
-- KEYS[1]  the rain's meta hash
-- ARGV     field, value pairs: status, startsAt, endsAt, remaining, shards, currency
-- returns  1 when written; 0 when the meta was there already (the step repeated by a recovery, or a
--          rebuild from PostgreSQL came first): grabs may have moved it, so it is left alone
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
