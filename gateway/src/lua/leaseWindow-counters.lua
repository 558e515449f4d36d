#!lua
-- leaseWindow-counters.lua: counts hits of one limited subject in its fixed window, several at a time
-- (a gateway instance takes a lease of hits and answers that many requests from memory, decision 0037).
-- A window starts with its first hit and lasts ARGV[1] ms (the counter key expires with it).
-- KEYS[1]  the subject's window counter
-- ARGV[1]  window length in milliseconds
-- ARGV[2]  the subject's limit
-- ARGV[3]  the most hits the caller asks for (≥ 1)
-- ARGV[4]  the lease is at most 1/ARGV[4] of what is left in the window (so leases shrink to one hit
--          near the limit, and hits leased but never used can refuse at most a small share early)
-- Returns {granted, window ms left, count after}: granted 0 means refused (the window is used up),
-- the caller may retry once the window ends.
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = limit - before
local granted = 0
if left > 0 then
  granted = math.max(1, math.floor(left / tonumber(ARGV[4])))
  granted = math.min(granted, tonumber(ARGV[3]), left)
end
local after = before
if granted > 0 then
  after = redis.call('INCRBY', KEYS[1], granted)
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
end
return {granted, ttl, after}
