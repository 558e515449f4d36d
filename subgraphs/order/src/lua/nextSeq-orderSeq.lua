#!lua
--[[
nextSeq-orderSeq: the next order-number sequence value(s) of one second, shared by every instance.

KEYS[1]  sequence key of the second (<prefix>:{order}:seq:<yyyyMMddHHmmss>)
ARGV[1]  time-to-live of the key in seconds (long enough to outlive clock skew between instances)
ARGV[2]  how many values to take (optional, default 1): a batch of orders takes its numbers in one call

Returns the last value taken (the batch's are last - count + 1 … last).
]]
local count = tonumber(ARGV[2] or "1")
local n = redis.call("INCRBY", KEYS[1], count)
if n == count then redis.call("EXPIRE", KEYS[1], tonumber(ARGV[1])) end
return n
