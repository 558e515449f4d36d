/**
 * What promotion needs from other domains (docs/service-contracts.md), behind small interfaces;
 * the defaults call the owning subgraph's internal fields with createServiceClient.
 */
import type { Keys } from "@mallgraph/platform/auth";
import {
  INVENTORY_CONFIRM_MUTATION,
  INVENTORY_RELEASE_MUTATION,
  INVENTORY_RESERVE_MUTATION,
  INVENTORY_RETURN_MUTATION,
  SPU_SCOPES_QUERY,
  skuSnapshotsQuery,
  type SkuSnapshot as CatalogSkuSnapshot,
  type InventoryConfirmAnswer,
  type InventoryReleaseAnswer,
  type InventoryReserveAnswer,
  type InventoryReturnAnswer,
  type ReserveResult,
  type SpuScope,
  type SpuScopesAnswer,
  type StockLine,
} from "@mallgraph/platform/contracts/catalog";
import { COUPON_TEMPLATES_IN_USE_QUERY, type CouponTemplatesInUseAnswer } from "@mallgraph/platform/contracts/lottery";
import {
  ORDER_CREATE_SECKILL_BATCH_MUTATION,
  ORDER_CREATE_SECKILL_MUTATION,
  orderStatusesQuery,
  type OrderCreateSeckillAnswer,
  type OrderCreateSeckillBatchAnswer,
  type OrderStatusesAnswer,
  type SeckillOrderInput,
  type SeckillOrderResult,
} from "@mallgraph/platform/contracts/order";
import { createServiceClient } from "@mallgraph/platform/service-client";

export type { SpuScope, StockLine } from "@mallgraph/platform/contracts/catalog";
/** The fields of catalog's SkuSnapshot promotion reads. */
const SKU_FIELDS = ["id", "title", "price", "currency", "onShelf", "available"] as const;
const SKU_SNAPSHOTS_QUERY = skuSnapshotsQuery(SKU_FIELDS);
export type SkuSnapshot = Pick<CatalogSkuSnapshot, (typeof SKU_FIELDS)[number]>;

export interface CatalogPort {
  skuSnapshots(ids: string[]): Promise<Array<SkuSnapshot | null>>;
  /** spuScopes: in the order of ids, null for unknown SPUs. */
  spuScopes(spuIds: string[]): Promise<Array<SpuScope | null>>;
  /** Every back-office category id (the public tree). */
  categoryIds(): Promise<Set<string>>;
  reserve(key: string, lines: StockLine[], ttlSeconds: number): Promise<ReserveResult>;
  release(key: string): Promise<boolean>;
  confirm(key: string): Promise<boolean>;
  /** Sold → available (inventoryReturn), idempotent per key; false when less was sold. */
  returnSold(key: string, skuId: string, quantity: number): Promise<boolean>;
}

export type { SeckillOrderInput, SeckillOrderResult } from "@mallgraph/platform/contracts/order";

export interface OrderPort {
  /** orderCreateSeckill: idempotent per reservationId. */
  createSeckill(r: SeckillOrderInput): Promise<SeckillOrderResult>;
  /** orderCreateSeckillBatch: many reservations in one transaction, answers in the same order; idempotent per reservationId. */
  createSeckillBatch(rs: SeckillOrderInput[]): Promise<SeckillOrderResult[]>;
  /** Current statuses of orders (null for unknown ids), in the order of ids. */
  statuses(ids: string[]): Promise<Array<string | null>>;
}

export function catalogPort(url: string, secret: Keys): CatalogPort {
  const c = createServiceClient({ url, secret, service: "promotion" });
  return {
    async skuSnapshots(ids) {
      if (!ids.length) return [];
      const d = await c.request<{ skuSnapshots: Array<SkuSnapshot | null> }>(SKU_SNAPSHOTS_QUERY, { ids });
      return d.skuSnapshots;
    },
    async spuScopes(spuIds) {
      if (!spuIds.length) return [];
      const d = await c.request<SpuScopesAnswer>(SPU_SCOPES_QUERY, { ids: spuIds });
      return d.spuScopes;
    },
    async categoryIds() {
      type Node = { id: string; children?: Node[] };
      const d = await c.request<{ categories: Node[] }>(`query { categories { id children { id children { id } } } }`, {});
      const out = new Set<string>();
      const walk = (ns: Node[]) => ns.forEach((n) => (out.add(n.id), walk(n.children ?? [])));
      walk(d.categories);
      return out;
    },
    async reserve(key, lines, ttlSeconds) {
      const d = await c.request<InventoryReserveAnswer>(INVENTORY_RESERVE_MUTATION, { key, lines, ttl: ttlSeconds });
      return d.inventoryReserve;
    },
    async release(key) {
      return (await c.request<InventoryReleaseAnswer>(INVENTORY_RELEASE_MUTATION, { key })).inventoryRelease;
    },
    async confirm(key) {
      return (await c.request<InventoryConfirmAnswer>(INVENTORY_CONFIRM_MUTATION, { key })).inventoryConfirm;
    },
    async returnSold(key, skuId, quantity) {
      const d = await c.request<InventoryReturnAnswer>(INVENTORY_RETURN_MUTATION, { key, s: skuId, q: quantity });
      return d.inventoryReturn;
    },
  };
}

export function orderPort(url: string, secret: Keys): OrderPort {
  const c = createServiceClient({ url, secret, service: "promotion" });
  return {
    async createSeckill(r) {
      const d = await c.request<OrderCreateSeckillAnswer>(ORDER_CREATE_SECKILL_MUTATION, {
        r: r.reservationId,
        b: r.buyerId,
        s: r.skuId,
        q: r.quantity,
        p: r.unitPrice,
        c: r.currency,
        a: r.addressId ?? null,
      });
      return d.orderCreateSeckill;
    },
    async createSeckillBatch(rs) {
      const d = await c.request<OrderCreateSeckillBatchAnswer>(ORDER_CREATE_SECKILL_BATCH_MUTATION, {
        o: rs.map((r) => ({
          reservationId: r.reservationId,
          buyerId: r.buyerId,
          skuId: r.skuId,
          quantity: r.quantity,
          unitPrice: r.unitPrice,
          currency: r.currency,
          addressId: r.addressId ?? null,
        })),
      });
      return d.orderCreateSeckillBatch;
    },
    async statuses(ids) {
      if (!ids.length) return [];
      // one request: an alias per order
      const variables = Object.fromEntries(ids.map((id, i) => [`i${i}`, id]));
      const d = await c.request<OrderStatusesAnswer>(orderStatusesQuery(ids.length), variables);
      return ids.map((_, i) => d[`o${i}`]?.status ?? null);
    },
  };
}

export interface LotteryPort {
  /** lotteryCouponTemplatesInUse: the ids among these that COUPON awards of live activities grant. */
  couponTemplatesInUse(templateIds: string[]): Promise<string[]>;
}

export function lotteryPort(url: string, secret: Keys): LotteryPort {
  const c = createServiceClient({ url, secret, service: "promotion" });
  return {
    async couponTemplatesInUse(templateIds) {
      if (!templateIds.length) return [];
      return (await c.request<CouponTemplatesInUseAnswer>(COUPON_TEMPLATES_IN_USE_QUERY, { ids: templateIds })).lotteryCouponTemplatesInUse;
    },
  };
}
