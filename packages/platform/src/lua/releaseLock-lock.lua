#!lua
-- Releases a lock only if this caller still holds it (a lock is a key SET with NX, PX and a random
-- token; a holder whose lock expired must not delete the next holder's).
-- KEYS[1] lock key
-- ARGV[1] the holder's token
-- returns 1 when released, 0 when the lock expired or belongs to someone else
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
