/**
 * What order needs from other domains, behind small interfaces (docs/service-contracts.md). The
 * default implementations call the owning subgraph's internal fields with createServiceClient.
 */
import { createServiceClient } from "@mallgraph/platform/service-client";

export interface SkuSnapshot {
  id: string;
  spuId: string | null;
  title: string;
  price: string;
  currency: string;
  onShelf: boolean;
  available: number;
  image: string | null;
}

export interface StockLine {
  skuId: string;
  quantity: number;
}

export interface ReserveResult {
  /** OK | OUT_OF_STOCK | NOT_FOUND | OFF_SHELF | BAD_QUANTITY | RELEASED */
  code: string;
  failedSkuId: string | null;
}

export interface CatalogPort {
  skuSnapshots(ids: string[]): Promise<Array<SkuSnapshot | null>>;
  reserve(key: string, lines: StockLine[], ttlSeconds: number): Promise<ReserveResult>;
  release(key: string): Promise<boolean>;
  confirm(key: string): Promise<boolean>;
}

export interface AddressSnapshot {
  id: string;
  receiver: string;
  phone: string;
  region: string;
  detail: string;
}

export interface MemberPort {
  /** Null when the address is not that member's. */
  address(memberId: string, addressId: string): Promise<AddressSnapshot | null>;
}

export interface CartPort {
  checkedLines(memberId: string): Promise<StockLine[]>;
  removeSkus(memberId: string, skuIds: string[]): Promise<boolean>;
}

export interface CouponLock {
  /** OK | COUPON_UNAVAILABLE */
  code: string;
  discount: string;
}

/**
 * Promotion's coupon operations (couponLock / couponRelease / couponConsume in the contracts);
 * `promotionPort` calls the promotion subgraph, `noPromotion` is a stand-in without coupons.
 */
export interface PromotionPort {
  lockCoupon(memberId: string, couponId: string, orderId: string, itemsTotal: string, currency: string, spuIds?: string[]): Promise<CouponLock>;
  releaseCoupon(orderId: string): Promise<void>;
  consumeCoupon(orderId: string): Promise<void>;
}

export interface PaymentPort {
  /** Payment's internal refundOrderPayment; idempotent per reference. Returns its code. */
  refundOrderPayment(orderId: string, amount: string, reason: string, reference: string): Promise<string>;
}

export function catalogPort(url: string, secret: string): CatalogPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async skuSnapshots(ids) {
      if (!ids.length) return [];
      const d = await c.request<{ skuSnapshots: Array<SkuSnapshot | null> }>(
        `query($ids: [ID!]!) { skuSnapshots(ids: $ids) { id spuId title price currency onShelf available image } }`, { ids });
      return d.skuSnapshots;
    },
    async reserve(key, lines, ttlSeconds) {
      const d = await c.request<{ inventoryReserve: ReserveResult }>(
        `mutation($key: String!, $lines: [StockLineInput!]!, $ttl: Int!) { inventoryReserve(key: $key, lines: $lines, ttlSeconds: $ttl) { code failedSkuId } }`,
        { key, lines, ttl: ttlSeconds });
      return d.inventoryReserve;
    },
    async release(key) {
      return (await c.request<{ inventoryRelease: boolean }>(`mutation($key: String!) { inventoryRelease(key: $key) }`, { key })).inventoryRelease;
    },
    async confirm(key) {
      return (await c.request<{ inventoryConfirm: boolean }>(`mutation($key: String!) { inventoryConfirm(key: $key) }`, { key })).inventoryConfirm;
    },
  };
}

export function memberPort(url: string, secret: string): MemberPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async address(memberId, addressId) {
      const d = await c.request<{ memberAddress: AddressSnapshot | null }>(
        `query($m: ID!, $a: ID!) { memberAddress(memberId: $m, addressId: $a) { id receiver phone region detail } }`, { m: memberId, a: addressId });
      return d.memberAddress;
    },
  };
}

export function cartPort(url: string, secret: string): CartPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async checkedLines(memberId) {
      return (await c.request<{ cartCheckedLines: StockLine[] }>(`query($m: ID!) { cartCheckedLines(memberId: $m) { skuId quantity } }`, { m: memberId })).cartCheckedLines;
    },
    async removeSkus(memberId, skuIds) {
      return (await c.request<{ cartRemoveSkus: boolean }>(`mutation($m: ID!, $s: [ID!]!) { cartRemoveSkus(memberId: $m, skuIds: $s) }`, { m: memberId, s: skuIds })).cartRemoveSkus;
    },
  };
}

export function paymentPort(url: string, secret: string): PaymentPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async refundOrderPayment(orderId, amount, reason, reference) {
      const d = await c.request<{ refundOrderPayment: { code: string } }>(
        `mutation($o: ID!, $a: String!, $r: String!, $ref: String!) { refundOrderPayment(orderId: $o, amount: $a, reason: $r, reference: $ref) { code } }`,
        { o: orderId, a: amount, r: reason, ref: reference });
      return d.refundOrderPayment.code;
    },
  };
}

/** Promotion's internal couponLock / couponRelease / couponConsume (idempotent per orderId). */
export function promotionPort(url: string, secret: string): PromotionPort {
  const c = createServiceClient({ url, secret, service: "order" });
  return {
    async lockCoupon(memberId, couponId, orderId, itemsTotal, currency, spuIds) {
      const d = await c.request<{ couponLock: { code: string; discount: string } }>(
        `mutation($m: ID!, $c: ID!, $o: ID!, $t: String!, $cur: String!, $spus: [ID!]) {
          couponLock(memberId: $m, couponId: $c, orderId: $o, itemsTotal: $t, currency: $cur, spuIds: $spus) { code discount } }`,
        { m: memberId, c: couponId, o: orderId, t: itemsTotal, cur: currency, spus: spuIds ?? [] });
      return d.couponLock.code === "OK" ? d.couponLock : { code: "COUPON_UNAVAILABLE", discount: "0" };
    },
    async releaseCoupon(orderId) {
      await c.request(`mutation($o: ID!) { couponRelease(orderId: $o) }`, { o: orderId });
    },
    async consumeCoupon(orderId) {
      await c.request(`mutation($o: ID!) { couponConsume(orderId: $o) }`, { o: orderId });
    },
  };
}

/**
 * A stand-in without coupons (tests that need no promotion): coupons are accepted without a discount: lock answers OK
 * with discount 0, release and consume do nothing. The promotion issue replaces this with a port
 * calling couponLock / couponRelease / couponConsume.
 */
export const noPromotion: PromotionPort = {
  async lockCoupon() {
    return { code: "OK", discount: "0" };
  },
  async releaseCoupon() {},
  async consumeCoupon() {},
};
