#!lua
-- takeStock-award.lua: takes one unit of an award's stock for one participation order, atomically
-- and idempotently (a replayed order does not take a second unit). Stock never goes below zero.
-- KEYS[1]  the award's stock counter (integer)
-- KEYS[2]  set of participation order ids that hold a unit of this award
-- ARGV[1]  participation order id
-- returns  { code, stockLeft }: code 1 taken (or already taken by this order), 0 out of stock,
--          -1 stock not armed (the counter is missing)
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return { 1, tonumber(redis.call('GET', KEYS[1]) or '0') }
end
local stock = redis.call('GET', KEYS[1])
if not stock then return { -1, 0 } end
stock = tonumber(stock)
if stock <= 0 then return { 0, stock } end
local left = redis.call('DECR', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[1])
return { 1, left }
