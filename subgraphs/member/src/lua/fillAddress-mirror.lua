#!lua
--[[
  Fills one address of a member's address mirror (decision 0054), only while the mirror's version is
  still the one read before the address row was: a write that bumped it since has invalidated the row read.
  KEYS[1]  the member's address mirror (hash: v = version, a:<addressId> = "<version>\t<snapshot JSON>")
  ARGV[1]  the version read before the row ("0" when there was none)
  ARGV[2]  the entry's field (a:<addressId>)
  ARGV[3]  the snapshot JSON
  ARGV[4]  the mirror's life, milliseconds
  Returns  1 when filled, 0 when the version moved.
]]
if (redis.call('HGET', KEYS[1], 'v') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1] .. '\t' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
