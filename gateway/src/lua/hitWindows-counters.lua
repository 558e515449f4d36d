#!lua
-- hitWindows-counters.lua: counts one request in each fixed window and tells whether all allow it
-- (the gateway passes one counter a call: each subject's counter has its own hash tag).
-- A window starts with its first hit and lasts ARGV[1] ms (the counter key expires with it).
-- KEYS[1..n]  window counters, one per limited subject (the user or IP, the client name)
-- ARGV[1]     window length in milliseconds
-- ARGV[2..n+1] the limit of KEYS[i]
-- Returns 0 when every counter is within its limit, else the milliseconds until the latest of the
-- exceeded windows ends (the client's retry-after).
local window = tonumber(ARGV[1])
local wait = 0
for i, k in ipairs(KEYS) do
  local n = redis.call('INCR', k)
  if n == 1 then
    redis.call('PEXPIRE', k, window)
  end
  if n > tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', k)
    if ttl < 0 then
      redis.call('PEXPIRE', k, window)
      ttl = window
    end
    if ttl > wait then
      wait = ttl
    end
  end
end
return wait
