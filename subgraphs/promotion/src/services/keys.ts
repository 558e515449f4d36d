/**
 * Redis keys of the seckill engine, all under the `{promotion}` hash tag (one Redis Cluster slot,
 * so one Lua script may touch a session's keys together):
 * - sk:session:<sid>            hash {status, startsMs, endsMs}
 * - sk:item:<sid>:<sku>         hash {limit, price, currency}
 * - sk:stock:<sid>:<sku>        stock counter
 * - sk:bought:<sid>:<sku>       hash buyerId → quantity held by live reservations (per-user limit)
 * - sk:idem:<buyer>:<key>       idempotency key → reservationId (expires)
 * - sk:res:<rid>                the reservation (source of truth) {id, sessionId, skuId, buyerId,
 *                               quantity, unitPrice, currency, status, createdMs, orderId, settled}
 * - sk:pending                  zset of PENDING reservations (sweeper)
 * - sk:ordered                  zset of ORDERED, unsettled reservations (order status poll)
 * - sk:open:<sid>               count of unsettled reservations of a session
 * - sk:returned:<sid>:<sku>     unsold quantity parked for catalog's inventoryReturn
 * - seckill-skus                set of SKUs in online sessions (the cart and order refuse them)
 */
import { keyFor } from "@mallgraph/platform/redis";

export function seckillKeys(prefix: string) {
  const k = keyFor(prefix, "promotion");
  return {
    session: (sid: string) => k("sk", "session", sid),
    item: (sid: string, sku: string) => k("sk", "item", sid, sku),
    stock: (sid: string, sku: string) => k("sk", "stock", sid, sku),
    bought: (sid: string, sku: string) => k("sk", "bought", sid, sku),
    idem: (buyer: string, key: string) => k("sk", "idem", buyer, key),
    reservation: (rid: string) => k("sk", "res", rid),
    pending: () => k("sk", "pending"),
    ordered: () => k("sk", "ordered"),
    open: (sid: string) => k("sk", "open", sid),
    returned: (sid: string, sku: string) => k("sk", "returned", sid, sku),
    seckillSkus: () => k("seckill-skus"),
  };
}
export type SeckillKeys = ReturnType<typeof seckillKeys>;
