#!lua
-- Stores a freshly loaded cache entry (category tree, product) only if its version has not moved
-- since the load began — a write in between bumps the version and the possibly stale load is dropped.
-- KEYS[1] version key (missing = "0"), KEYS[2] data key of that version
-- ARGV[1] version the loader read before loading, ARGV[2] data (JSON), ARGV[3] TTL seconds
-- returns 1 when stored, 0 when the version moved on
local current = redis.call("GET", KEYS[1]) or "0"
if current ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[2], ARGV[2], "EX", tonumber(ARGV[3]))
return 1
