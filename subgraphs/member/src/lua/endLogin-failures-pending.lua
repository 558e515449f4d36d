#!lua
--[[
  Ends an admitted login try: it leaves the pending count, and a failed one is counted for the day.
  KEYS[1]  the account's failure counter of the day
  KEYS[2]  the account's tries in flight
  ARGV[1]  '1' when the try failed, '0' when it succeeded
  ARGV[2]  end of the day, unix ms (the failure counter expires then)
  ARGV[3]  pending TTL, ms
  Returns  the day's failures
]]
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
if p > 1 then redis.call('SET', KEYS[2], p - 1, 'PX', tonumber(ARGV[3])) else redis.call('DEL', KEYS[2]) end
if ARGV[1] == '1' then
  local f = redis.call('INCR', KEYS[1])
  redis.call('PEXPIREAT', KEYS[1], tonumber(ARGV[2]))
  return f
end
return tonumber(redis.call('GET', KEYS[1]) or '0')
