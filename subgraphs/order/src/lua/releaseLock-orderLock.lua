--[[
releaseLock-orderLock: deletes a lock only when it still holds the caller's token.

KEYS[1]  lock key (<prefix>:{order}:submit:<buyerId>:<idempotencyKey>)
ARGV[1]  the caller's token

Returns 1 when released, 0 when the lock was gone or held by someone else.
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
