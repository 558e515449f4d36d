#!lua
--[[
nextSeq-orderSeq: the next order-number sequence value of one second, shared by every instance.

KEYS[1]  sequence key of the second (<prefix>:{order}:seq:<yyyyMMddHHmmss>)
ARGV[1]  time-to-live of the key in seconds (long enough to outlive clock skew between instances)

Returns the sequence value (1, 2, …).
]]
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("EXPIRE", KEYS[1], tonumber(ARGV[1])) end
return n
