#!lua
--[[
  Checks an SMS code. A right code is deleted (single use); a wrong one counts a try, and the code
  is burned (deleted) once the tries reach the maximum.
  KEYS[1]  code key (hash { code, tries })
  ARGV[1]  the code the user typed
  ARGV[2]  maximum wrong tries
  Returns  'OK' | 'INVALID' | 'EXPIRED' (absent: never sent, expired, used or burned)
]]
local code = redis.call('HGET', KEYS[1], 'code')
if not code then return 'EXPIRED' end
if code == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 'OK'
end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 'INVALID'
