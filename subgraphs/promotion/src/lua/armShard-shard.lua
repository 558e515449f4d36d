#!lua
-- armShard: brings one shard of an item online: its meta and its part of the stock. The status is set
-- only when none is there (a shard closed by a cancel stays closed), the stock counter only once (a
-- re-run never refills).
-- KEYS[1] meta hash  KEYS[2] stock counter
-- ARGV[1] startsMs ARGV[2] endsMs ARGV[3] per-user limit ARGV[4] price ARGV[5] currency ARGV[6] shards
-- ARGV[7] this shard's stock ARGV[8] sessionId ARGV[9] skuId ARGV[10] shard index
-- returns 1 when the shard is ONLINE, 0 when it was closed before
redis.call('HSETNX', KEYS[1], 'status', 'ONLINE')
redis.call('HSET', KEYS[1], 'startsMs', ARGV[1], 'endsMs', ARGV[2], 'limit', ARGV[3], 'price', ARGV[4], 'currency', ARGV[5],
  'shards', ARGV[6], 'sessionId', ARGV[8], 'skuId', ARGV[9], 'shard', ARGV[10])
redis.call('SET', KEYS[2], ARGV[7], 'NX')
if redis.call('HGET', KEYS[1], 'status') == 'ONLINE' then return 1 end
return 0
