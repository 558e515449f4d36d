#!lua
--[[
  Revokes a session at once: its hash and all its refresh tokens (all under the session's hash tag,
  one slot). The subject's device slot lives under the subject's tag: the caller frees it afterwards
  when it still names this session.
  KEYS[1]  session hash
  KEYS[2]  set of the session's refresh-token keys
  ARGV[1]  session id
  Returns  { 1, subject, device, realm, slot key or '' } when the session existed, { 0 } otherwise.
]]
local cur = redis.call('HMGET', KEYS[1], 'subject', 'device', 'realm', 'slot')
for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', k) end
redis.call('DEL', KEYS[2])
if not cur[1] then return { 0 } end
redis.call('DEL', KEYS[1])
return { 1, cur[1], cur[2], cur[3], cur[4] or '' }
