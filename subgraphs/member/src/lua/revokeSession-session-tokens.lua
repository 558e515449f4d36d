--[[
  Revokes a session at once: its hash, all its refresh tokens, and its device slot when the slot
  still names it.
  KEYS[1]  session hash
  KEYS[2]  set of the session's refresh-token keys
  ARGV[1]  session id
  Returns  { 1, subject, device, realm } when the session existed, { 0 } otherwise.
]]
local cur = redis.call('HMGET', KEYS[1], 'subject', 'device', 'realm', 'slot')
for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', k) end
redis.call('DEL', KEYS[2])
if not cur[1] then return { 0 } end
redis.call('DEL', KEYS[1])
if cur[4] and redis.call('GET', cur[4]) == ARGV[1] then redis.call('DEL', cur[4]) end
return { 1, cur[1], cur[2], cur[3] }
