#!lua
-- leaseSocket-sockets.lua: the live sockets of one caller over every gateway instance (decision 0033).
-- A socket holds a lease that its instance renews; a crashed instance's leases lapse on their own.
-- KEYS[1]  zset of the caller's sockets: "<instance>:<socket id>" → lease end (ms, Redis clock)
-- ARGV[1]  TAKE | RENEW | GIVE
-- ARGV[2]  the socket ("<instance>:<socket id>")
-- ARGV[3]  lease length, ms
-- ARGV[4]  most sockets the caller may hold (TAKE)
-- returns  TAKE: 1 taken (or held already), 0 the caller is at its limit (nothing taken);
--          RENEW: 1 renewed, 0 the lease was gone (lapsed: taken again without a limit check, it is open);
--          GIVE: 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] == 'GIVE' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 1
end
local held = redis.call('ZSCORE', KEYS[1], ARGV[2])
if ARGV[1] == 'TAKE' and not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
redis.call('PEXPIRE', KEYS[1], lease * 2)
if held or ARGV[1] == 'TAKE' then return 1 end
return 0
