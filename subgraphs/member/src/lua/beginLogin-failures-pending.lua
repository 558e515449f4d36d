#!lua
--[[
  Admits one login try of an account against the day's failure budget, before the credentials are
  checked. Tries in flight are counted as pending, so a burst of parallel tries cannot get more
  checks than failures are left.
  KEYS[1]  the account's failure counter of the day
  KEYS[2]  the account's tries in flight (short TTL, in case a process dies mid-try)
  ARGV[1]  maximum failures per day
  ARGV[2]  pending TTL, ms
  Returns  { 1, failures } admitted (pending + 1); { 0, failures } locked for the day;
           { 2, failures } not locked, but the tries in flight could use up the budget: retry soon.
]]
local max = tonumber(ARGV[1])
local f = tonumber(redis.call('GET', KEYS[1]) or '0')
if f >= max then return { 0, f } end
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
if p < 0 then p = 0 end
if f + p >= max then return { 2, f } end
redis.call('SET', KEYS[2], p + 1, 'PX', tonumber(ARGV[2]))
return { 1, f }
