#!lua
--[[
checkItems-cart: sets the checked flag of the named lines (every line when none is named).
Lines not in the cart are ignored.

KEYS[1]  cart hash of the member (see addItem-cart.lua)
ARGV[1]  1 to check, 0 to uncheck
ARGV[2…] SKU ids (none: every line)

Returns the number of lines changed.
]]
local flag = tonumber(ARGV[1])
local ids = {}
if #ARGV > 1 then
  for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call("HKEYS", KEYS[1])
end
local n = 0
for _, id in ipairs(ids) do
  local raw = redis.call("HGET", KEYS[1], id)
  if raw then
    local line = cjson.decode(raw)
    if line.c ~= flag then
      line.c = flag
      redis.call("HSET", KEYS[1], id, cjson.encode(line))
      n = n + 1
    end
  end
end
return n
