/**
 * What order needs from other domains, behind small interfaces (docs/service-contracts.md). The
 * default implementations call the owning subgraph's internal fields with createServiceClient.
 */
import type { Keys } from "@mallgraph/platform/auth";
import {
  CART_CHECKED_LINES_QUERY,
  CART_REMOVE_SKUS_MUTATION,
  type CartCheckedLinesAnswer,
  type CartLineSnapshot,
  type CartRemoveSkusAnswer,
} from "@mallgraph/platform/contracts/cart";
import {
  INVENTORY_CONFIRM_MUTATION,
  INVENTORY_RELEASE_MUTATION,
  INVENTORY_RESERVE_PRICED_MUTATION,
  SKU_SNAPSHOTS_QUERY,
  type InventoryConfirmAnswer,
  type InventoryReleaseAnswer,
  type InventoryReservePricedAnswer,
  type PricedReserveResult,
  type SkuSnapshot,
  type StockLine,
} from "@mallgraph/platform/contracts/catalog";
import {
  ADDRESS_MIRROR_VERSION,
  addressFromMirror,
  addressMirrorField,
  addressMirrorKey,
  MEMBER_ADDRESS_QUERY,
  MEMBER_DEFAULT_ADDRESS_QUERY,
  type AddressSnapshot,
} from "@mallgraph/platform/contracts/member";
import { REFUND_ORDER_PAYMENT_MUTATION, type RefundOrderPaymentAnswer, type RefundResultCode } from "@mallgraph/platform/contracts/payment";
import {
  COUPON_CONSUME_MUTATION,
  COUPON_LOCK_MUTATION,
  COUPON_RELEASE_MUTATION,
  PRICE_TOTALS_QUERY,
  type CouponLockAnswer,
  type CouponLockResult,
  type PriceLine,
  type PriceTotals,
  type PriceTotalsAnswer,
} from "@mallgraph/platform/contracts/promotion";
import { isRedisError, type Redis } from "@mallgraph/platform/redis";
import { createServiceClient } from "@mallgraph/platform/service-client";

export type { PricedReserveResult, ReservedSku, SkuSnapshot, StockLine } from "@mallgraph/platform/contracts/catalog";
export type { AddressSnapshot } from "@mallgraph/platform/contracts/member";
export type { CartLineSnapshot } from "@mallgraph/platform/contracts/cart";
export type { CouponLockResult, PriceLine } from "@mallgraph/platform/contracts/promotion";
/** Promotion's quote of an order's lines: the totals, each line's discount and payable, the coupon applied. */
export type PriceQuote = PriceTotals;

export interface CatalogPort {
  skuSnapshots(ids: string[]): Promise<Array<SkuSnapshot | null>>;
  /** Reserves every line or none (idempotent per key); when OK, with the SKUs' prices read in the same statement. */
  reserve(key: string, lines: StockLine[], ttlSeconds: number): Promise<PricedReserveResult>;
  release(key: string): Promise<boolean>;
  confirm(key: string): Promise<boolean>;
}

export interface MemberPort {
  /** Null when the address is not that member's. */
  address(memberId: string, addressId: string): Promise<AddressSnapshot | null>;
  /** The member's default address; null when the member has none. */
  defaultAddress(memberId: string): Promise<AddressSnapshot | null>;
}

export interface CartPort {
  checkedLines(memberId: string): Promise<CartLineSnapshot[]>;
  removeSkus(memberId: string, skuIds: string[]): Promise<boolean>;
}

/**
 * Promotion: the price of the lines (promotionPrice: campaigns and the coupon, by the one pricing
 * function) and the coupon's lock / release / consume (idempotent per orderId).
 */
export interface PromotionPort {
  price(memberId: string, currency: string, lines: PriceLine[], couponId: string | null): Promise<PriceQuote>;
  lockCoupon(memberId: string, couponId: string, orderId: string, currency: string, discount: string): Promise<CouponLockResult>;
  releaseCoupon(orderId: string): Promise<void>;
  consumeCoupon(orderId: string): Promise<void>;
}

export interface PaymentPort {
  /** Payment's internal refundOrderPayment; idempotent per reference. Returns its code. */
  refundOrderPayment(orderId: string, amount: string, reason: string, reference: string): Promise<RefundResultCode>;
}

export function catalogPort(url: string, secret: Keys): CatalogPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async skuSnapshots(ids) {
      if (!ids.length) return [];
      const d = await c.request<{ skuSnapshots: Array<SkuSnapshot | null> }>(SKU_SNAPSHOTS_QUERY, { ids });
      return d.skuSnapshots;
    },
    async reserve(key, lines, ttlSeconds) {
      const d = await c.request<InventoryReservePricedAnswer>(INVENTORY_RESERVE_PRICED_MUTATION, { key, lines, ttl: ttlSeconds });
      return d.inventoryReserve;
    },
    async release(key) {
      return (await c.request<InventoryReleaseAnswer>(INVENTORY_RELEASE_MUTATION, { key })).inventoryRelease;
    },
    async confirm(key) {
      return (await c.request<InventoryConfirmAnswer>(INVENTORY_CONFIRM_MUTATION, { key })).inventoryConfirm;
    },
  };
}

/**
 * `mirror`: member's address mirror in Redis (decision 0054) — an address found there (in the
 * placement's first Redis tick) needs no call; a miss, or a Redis error, asks member, which fills it.
 */
export function memberPort(url: string, secret: Keys, mirror?: { redis: Redis; prefix: string }): MemberPort {
  const c = createServiceClient({ url, secret, service: "order" });
  const mirrored = async (memberId: string, addressId: string): Promise<AddressSnapshot | null> => {
    if (!mirror) return null;
    try {
      const [version, entry] = await mirror.redis.hmget(
        addressMirrorKey(mirror.prefix, memberId),
        ADDRESS_MIRROR_VERSION,
        addressMirrorField(addressId),
      );
      return addressFromMirror(version ?? null, entry ?? null);
    } catch (e) {
      if (!isRedisError(e)) throw e;
      return null;
    }
  };
  return {
    async address(memberId, addressId) {
      const hit = await mirrored(memberId, addressId);
      if (hit) return hit;
      const d = await c.request<{ memberAddress: AddressSnapshot | null }>(MEMBER_ADDRESS_QUERY, { m: memberId, a: addressId });
      return d.memberAddress;
    },
    async defaultAddress(memberId) {
      const d = await c.request<{ memberDefaultAddress: AddressSnapshot | null }>(MEMBER_DEFAULT_ADDRESS_QUERY, { m: memberId });
      return d.memberDefaultAddress;
    },
  };
}

export function cartPort(url: string, secret: Keys): CartPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async checkedLines(memberId) {
      return (await c.request<CartCheckedLinesAnswer>(CART_CHECKED_LINES_QUERY, { m: memberId })).cartCheckedLines;
    },
    async removeSkus(memberId, skuIds) {
      return (await c.request<CartRemoveSkusAnswer>(CART_REMOVE_SKUS_MUTATION, { m: memberId, s: skuIds })).cartRemoveSkus;
    },
  };
}

export function paymentPort(url: string, secret: Keys): PaymentPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async refundOrderPayment(orderId, amount, reason, reference) {
      const d = await c.request<RefundOrderPaymentAnswer>(REFUND_ORDER_PAYMENT_MUTATION, {
        o: orderId,
        a: amount,
        r: reason,
        ref: reference,
      });
      return d.refundOrderPayment.code;
    },
  };
}

/** Promotion's internal promotionPrice, couponLock / couponRelease / couponConsume (idempotent per orderId). */
export function promotionPort(url: string, secret: Keys): PromotionPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async price(memberId, currency, lines, couponId) {
      const d = await c.request<PriceTotalsAnswer>(PRICE_TOTALS_QUERY, { m: memberId, cur: currency, lines, c: couponId });
      return d.promotionPrice;
    },
    async lockCoupon(memberId, couponId, orderId, currency, discount) {
      const d = await c.request<CouponLockAnswer>(COUPON_LOCK_MUTATION, {
        m: memberId,
        c: couponId,
        o: orderId,
        cur: currency,
        d: discount,
      });
      return d.couponLock.code === "OK" ? d.couponLock : { ...d.couponLock, code: "COUPON_UNAVAILABLE", discount: "0" };
    },
    async releaseCoupon(orderId) {
      await c.request(COUPON_RELEASE_MUTATION, { o: orderId });
    },
    async consumeCoupon(orderId) {
      await c.request(COUPON_CONSUME_MUTATION, { o: orderId });
    },
  };
}
