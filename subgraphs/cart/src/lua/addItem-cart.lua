#!lua
--[[
addItem-cart: adds `delta` units of a SKU to a member's cart, atomically checking the new line
quantity against the stock the caller read from the catalog.

KEYS[1]  cart hash of the member: field = SKU id, value = JSON {"q":quantity,"c":checked(0|1),"t":addedAtMs}
ARGV[1]  SKU id
ARGV[2]  delta (> 0)
ARGV[3]  available units (catalog snapshot)
ARGV[4]  max lines in a cart
ARGV[5]  max quantity of one line
ARGV[6]  now (ms) — the added-at time of a new line
ARGV[7]  time-to-live of the cart (seconds)

Returns { code, quantity } where code is one of
  "OK"            the line now holds `quantity`
  "OUT_OF_STOCK"  new quantity above `available`; nothing changed, `quantity` is the current one
  "BAD_QUANTITY"  new quantity above the per-line maximum; nothing changed
  "CART_FULL"     a new line would exceed the max lines; nothing changed
]]
local raw = redis.call("HGET", KEYS[1], ARGV[1])
local delta = tonumber(ARGV[2])
local available = tonumber(ARGV[3])
local line
if raw then
  line = cjson.decode(raw)
else
  if redis.call("HLEN", KEYS[1]) >= tonumber(ARGV[4]) then return { "CART_FULL", 0 } end
  line = { q = 0, c = 1, t = tonumber(ARGV[6]) }
end
local newq = line.q + delta
if newq > tonumber(ARGV[5]) then return { "BAD_QUANTITY", line.q } end
if newq > available then return { "OUT_OF_STOCK", line.q } end
line.q = newq
redis.call("HSET", KEYS[1], ARGV[1], cjson.encode(line))
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[7]))
return { "OK", newq }
