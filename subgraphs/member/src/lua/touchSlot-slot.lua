#!lua
--[[
  Extends a device slot's life while it still names the session that was refreshed.
  KEYS[1]  the subject's device slot (its value: the live session id)
  ARGV[1]  session id
  ARGV[2]  TTL, seconds
  Returns  1 when extended, 0 when the slot names another session or none.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
return 0
