#!lua
--[[
  Issues an SMS code unless one was sent to the same phone within the resend interval.
  KEYS[1]  resend guard key (string)
  KEYS[2]  code key (hash { code, tries })
  ARGV[1]  the new 6-digit code
  ARGV[2]  code lifetime, seconds
  ARGV[3]  resend interval, seconds
  Returns  { 1, 0 } when issued; { 0, secondsUntilResend } when the guard is still up.
]]
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[3])) then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'code', ARGV[1], 'tries', 0)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
  return { 1, 0 }
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 1 then ttl = 1 end
return { 0, ttl }
