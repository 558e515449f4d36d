#!lua
-- Counts one search of a keyword under every prefix of it (suggestions by prefix, most searched first).
-- KEYS[1..n] one sorted set per prefix of the keyword
-- ARGV[1] normalized keyword, ARGV[2] max members kept per prefix, ARGV[3] TTL seconds of the sets
-- returns the keyword's new count
local count = 0
local keep = tonumber(ARGV[2])
for i = 1, #KEYS do
  count = redis.call("ZINCRBY", KEYS[i], 1, ARGV[1])
  local size = redis.call("ZCARD", KEYS[i])
  if size > keep then redis.call("ZREMRANGEBYRANK", KEYS[i], 0, size - keep - 1) end
  redis.call("EXPIRE", KEYS[i], tonumber(ARGV[3]))
end
return count
