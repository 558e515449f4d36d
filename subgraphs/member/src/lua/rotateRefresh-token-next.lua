#!lua
--[[
  Rotates a refresh token, with reuse detection. Each token hash names its session and the
  generation it was issued for; the session keeps the current generation. Presenting a token of an
  older generation (already rotated) is reuse: the whole session is revoked.
  KEYS[1]  key of the presented token (hash { session, set, sid, gen })
  KEYS[2]  key of the next token (created here)
  ARGV[1]  TTL of session and tokens, seconds
  Returns  { 'OK', sid, subject, device, realm, slot } | { 'REUSED', sid, subject, device, realm, slot } | { 'INVALID' }
  The tokens, the session hash and its token set share the session's hash tag (one slot). The
  subject's device slot (its key is returned, '' for none) is under the subject's tag: the caller
  refreshes its TTL (OK) or frees it (REUSED) when it still names the session.
]]
local ttl = tonumber(ARGV[1])
local rt = redis.call('HMGET', KEYS[1], 'session', 'set', 'sid', 'gen')
if not rt[1] then return { 'INVALID' } end
local sess, set, sid, gen = rt[1], rt[2], rt[3], rt[4]
local cur = redis.call('HMGET', sess, 'refreshGen', 'subject', 'device', 'realm', 'slot')
if not cur[1] then return { 'INVALID' } end
if cur[1] ~= gen then
  for _, k in ipairs(redis.call('SMEMBERS', set)) do redis.call('DEL', k) end
  redis.call('DEL', set, sess)
  return { 'REUSED', sid, cur[2], cur[3], cur[4], cur[5] or '' }
end
local nextGen = tostring(tonumber(gen) + 1)
redis.call('HSET', sess, 'refreshGen', nextGen)
redis.call('HSET', KEYS[2], 'session', sess, 'set', set, 'sid', sid, 'gen', nextGen)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('SADD', set, KEYS[2])
redis.call('EXPIRE', set, ttl)
redis.call('EXPIRE', sess, ttl)
return { 'OK', sid, cur[2], cur[3], cur[4], cur[5] or '' }
