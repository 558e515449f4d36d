#!lua
--[[
setQuantity-cart: sets the quantity of an existing cart line. Lowering always succeeds; raising
needs `available` ≥ the new quantity and no refusal code.

KEYS[1]  cart hash of the member (see addItem-cart.lua)
ARGV[1]  SKU id
ARGV[2]  new quantity (1..max, validated by the caller)
ARGV[3]  available units (catalog snapshot)
ARGV[4]  refusal code for raising ("" when raising is allowed: SKU known, on shelf, not seckill)
ARGV[5]  time-to-live of the cart (seconds)

Returns { code, quantity }: "OK" | "NOT_IN_CART" | "OUT_OF_STOCK" | <ARGV[4]>; on any code but OK
nothing changed and `quantity` is the current one.
]]
local raw = redis.call("HGET", KEYS[1], ARGV[1])
if not raw then return { "NOT_IN_CART", 0 } end
local line = cjson.decode(raw)
local newq = tonumber(ARGV[2])
if newq > line.q then
  if ARGV[4] ~= "" then return { ARGV[4], line.q } end
  if newq > tonumber(ARGV[3]) then return { "OUT_OF_STOCK", line.q } end
end
line.q = newq
redis.call("HSET", KEYS[1], ARGV[1], cjson.encode(line))
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[5]))
return { "OK", newq }
