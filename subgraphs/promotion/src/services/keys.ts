/**
 * Redis keys of the seckill engine (docs/decisions/0012-seckill-stock-shards.md). The stock of one
 * item (session + SKU) is split over N shards; each shard has its own hash tag
 * `{seckill:<session>:<sku>:<shard>}`, so the keys of one script call share a Redis Cluster slot and
 * the shards of a hot SKU spread over the cluster. Per shard:
 * - meta                  hash {status, startsMs, endsMs, limit, price, currency, shards, sessionId, skuId, shard}
 * - stock                 stock counter of the shard
 * - bought                hash buyerId → quantity held by live reservations of buyers whose home is this shard
 * - idem:<buyer>:<key>    idempotency key → reservationId (expires)
 * - res:<uuid>            a reservation of a buyer homed here (source of truth) {id, sessionId, skuId,
 *                         buyerId, quantity, unitPrice, currency, status, createdMs, home, stockShard,
 *                         idemKey, orderId, settled, seq, v}
 * - pending / ordered     zsets of PENDING / ORDERED-unsettled reservations (sweeper, order status poll)
 * - holds                 zset of HOLD reservations (home sold out, stock being taken from another shard)
 * - takes / takesAt       hash + zset: stock this shard gave to reservations homed elsewhere, not yet settled
 * - open                  count of unsettled reservations homed here (the shard closes at 0)
 * - returned              unsold quantity parked for catalog's inventoryReturn
 * - seq                   counter of the reservations that took stock here (homed here): each gets the next number
 * - stream                what the scripts did to reservations homed here (a snapshot per change, decision 0032):
 *                         the hand-off to order creation and to the PostgreSQL copy (services/seckill-stream.ts)
 * - reconcile             (shard 0) the lock of a reconciliation of the item (services/seckill-reconcile.ts)
 * And `{promotion}:seckill-skus`: SKUs in online sessions (cart and order refuse them; not used by scripts).
 */
import { keyFor } from "@mallgraph/platform/redis";

export function shardKeys(prefix: string, sessionId: string, skuId: string, shard: number) {
  const base = `${prefix}:promotion:{seckill:${sessionId}:${skuId}:${shard}}`;
  const key = (...parts: string[]) => `${base}:${parts.join(":")}`;
  return {
    meta: key("meta"),
    stock: key("stock"),
    bought: key("bought"),
    idem: (buyer: string, idemKey: string) => key("idem", buyer, idemKey),
    reservation: (uuid: string) => key("res", uuid),
    pending: key("pending"),
    ordered: key("ordered"),
    holds: key("holds"),
    takes: key("takes"),
    takesAt: key("takesAt"),
    open: key("open"),
    returned: key("returned"),
    seq: key("seq"),
    stream: key("stream"),
    reconcile: key("reconcile"),
  };
}
export type ShardKeys = ReturnType<typeof shardKeys>;

export function seckillSkusKey(prefix: string): string {
  return keyFor(prefix, "promotion")("seckill-skus");
}

/** The home shard of a buyer (FNV-1a of the buyer id): their per-user limit and idempotency records live there. */
export function homeShard(buyerId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < buyerId.length; i++) {
    h ^= buyerId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return shards <= 1 ? 0 : h % shards;
}

/** Stock `total` split over `shards`: the first (total mod shards) shards get one more. */
export function splitStock(total: number, shards: number): number[] {
  return Array.from({ length: shards }, (_, i) => Math.floor(total / shards) + (i < total % shards ? 1 : 0));
}

/** Reservation ids carry their item's slot and home shard: `<slot>.<shard>.<uuid>`. */
export function reservationId(slot: number, shard: number, uuid: string): string {
  return `${slot}.${shard}.${uuid}`;
}

export function parseReservationId(rid: string): { slot: number; shard: number; uuid: string } | null {
  const [, slot, shard, uuid] = (typeof rid === "string" ? /^(\d{1,12})\.(\d{1,2})\.([0-9a-f-]{36})$/.exec(rid) : null) ?? [];
  return uuid ? { slot: Number(slot), shard: Number(shard), uuid } : null;
}
