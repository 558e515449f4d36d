/**
 * What promotion offers other domains: `promotionPrice`'s input and quote as the callers read them
 * (cart, order; docs/decisions/0011-pricing-and-stacking.md), the coupon operations of an order
 * (order: couponLock / couponRelease / couponConsume), `couponGrant` (lottery's COUPON awards) and
 * `couponIssueNewUser` (member) — promotion `schema.graphql`, the @inaccessible fields;
 * docs/service-contracts.md. contracts.test.ts checks the field and code lists against
 * promotion's SDL and validates every document against it.
 */
import { fieldsOf, selection } from "./fields.ts";

/** `PriceLineInput`: a line as the pricing takes it. */
export interface PriceLine {
  skuId: string;
  spuId: string;
  /** Exact decimal in the quote's currency. */
  unitPrice: string;
  quantity: number;
}
export const PRICE_LINE_FIELDS = fieldsOf<PriceLine>()("skuId", "spuId", "unitPrice", "quantity");

/** `PriceQuoteCouponOption`: a held coupon, usable or why not. */
export interface PriceQuoteCouponOption {
  couponId: string;
  usable: boolean;
  reason: string | null;
  discount: string | null;
  payable: string | null;
}
export const PRICE_QUOTE_COUPON_OPTION_FIELDS = fieldsOf<PriceQuoteCouponOption>()("couponId", "usable", "reason", "discount", "payable");

/** `PriceQuote`: the price of lines with the live campaigns and an optional coupon (the fields callers read). */
export interface PriceQuote {
  currency: string;
  itemsTotal: string;
  campaignDiscount: string;
  discount: string;
  payable: string;
  /** In the order of the lines asked for. */
  lines: Array<{
    skuId: string;
    quantity: number;
    unitPrice: string;
    subtotal: string;
    campaignDiscount: string;
    couponDiscount: string;
    discount: string;
    payable: string;
  }>;
  promotions: Array<{ kind: "FULL_REDUCTION"; id: string; name: string; threshold: string; discount: string }>;
  coupon: { couponId: string; name: string; discount: string } | null;
  couponReason: string | null;
  bestCouponId: string | null;
  couponOptions: PriceQuoteCouponOption[];
}
export const PRICE_QUOTE_FIELDS = fieldsOf<PriceQuote>()(
  "currency",
  "itemsTotal",
  "campaignDiscount",
  "discount",
  "payable",
  "lines",
  "promotions",
  "coupon",
  "couponReason",
  "bestCouponId",
  "couponOptions",
);

/** `promotionPrice(memberId, currency, lines, couponId, withCoupons)`: the whole quote (the cart's view). Variables `m cur lines c w`. */
export const PROMOTION_PRICE_QUERY = `query($m: ID!, $cur: String!, $lines: [PriceLineInput!]!, $c: ID, $w: Boolean) {
  promotionPrice(memberId: $m, currency: $cur, lines: $lines, couponId: $c, withCoupons: $w) {
    currency itemsTotal campaignDiscount discount payable
    lines { skuId quantity unitPrice subtotal campaignDiscount couponDiscount discount payable }
    promotions { kind id name threshold discount } coupon { couponId name discount } couponReason bestCouponId
    couponOptions ${selection(PRICE_QUOTE_COUPON_OPTION_FIELDS)} } }`;
export interface PromotionPriceAnswer {
  promotionPrice: PriceQuote;
}

/** The part of a quote an order keeps: the totals, each line's discount and payable, the coupon applied. */
export type PriceTotals = Pick<PriceQuote, "currency" | "itemsTotal" | "discount" | "payable" | "couponReason"> & {
  /** In the order of the lines asked for. */
  lines: Array<Pick<PriceQuote["lines"][number], "skuId" | "discount" | "payable">>;
  coupon: Pick<NonNullable<PriceQuote["coupon"]>, "couponId" | "discount"> | null;
};

/** `promotionPrice(memberId, currency, lines, couponId)` read as `PriceTotals` (no coupon options). Variables `m cur lines c`. */
export const PRICE_TOTALS_QUERY = `query($m: ID!, $cur: String!, $lines: [PriceLineInput!]!, $c: ID) {
  promotionPrice(memberId: $m, currency: $cur, lines: $lines, couponId: $c) {
    currency itemsTotal discount payable lines { skuId discount payable } coupon { couponId discount } couponReason } }`;
export interface PriceTotalsAnswer {
  promotionPrice: PriceTotals;
}

/** `ClaimCouponResultCode`: what couponGrant (and the public claimCoupon) answer (an enum in the SDL). */
export const CLAIM_COUPON_RESULT_CODES = ["OK", "SOLD_OUT", "LIMIT_REACHED", "NOT_CLAIMABLE", "EXPIRED"] as const;
export type ClaimCouponResultCode = (typeof CLAIM_COUPON_RESULT_CODES)[number];

/** `ClaimCouponResult` as couponGrant's callers read it: the code and the granted coupon's id. */
export interface CouponGrantResult {
  code: ClaimCouponResultCode;
  coupon: { id: string } | null;
}

/** `couponGrant(memberId, templateId, reference)`: one coupon of an active template, idempotent per reference. Variables `m t r`. */
export const COUPON_GRANT_MUTATION = `mutation($m: ID!, $t: ID!, $r: String!) { couponGrant(memberId: $m, templateId: $t, reference: $r) { code coupon { id } } }`;
export interface CouponGrantAnswer {
  couponGrant: CouponGrantResult;
}

/** `CouponLockResult.code` (a `String!` on the wire; the values its description lists). */
export const COUPON_LOCK_CODES = ["OK", "COUPON_UNAVAILABLE"] as const;
export type CouponLockCode = (typeof COUPON_LOCK_CODES)[number];

/** `CouponLockResult`: a coupon locked for an order at a discount, or why not. */
export interface CouponLockResult {
  code: CouponLockCode;
  /** Exact decimal; "0" unless OK. */
  discount: string;
  /** Why COUPON_UNAVAILABLE: NOT_FOUND, USED, LOCKED, EXPIRED, NOT_YET_VALID, CURRENCY, ORDER_HAS_COUPON. */
  reason: string | null;
}
export const COUPON_LOCK_RESULT_FIELDS = fieldsOf<CouponLockResult>()("code", "discount", "reason");

/** `couponLock(memberId, couponId, orderId, currency, discount)`: idempotent per orderId. Variables `m c o cur d`. */
export const COUPON_LOCK_MUTATION = `mutation($m: ID!, $c: ID!, $o: ID!, $cur: String!, $d: String!) {
  couponLock(memberId: $m, couponId: $c, orderId: $o, currency: $cur, discount: $d) ${selection(COUPON_LOCK_RESULT_FIELDS)} }`;
export interface CouponLockAnswer {
  couponLock: CouponLockResult;
}

/** `couponRelease(orderId)`: the order was cancelled, its coupon is usable again; idempotent. Variable `o`. */
export const COUPON_RELEASE_MUTATION = `mutation($o: ID!) { couponRelease(orderId: $o) }`;
/** `couponConsume(orderId)`: the order was paid, its coupon is used; idempotent. Variable `o`. */
export const COUPON_CONSUME_MUTATION = `mutation($o: ID!) { couponConsume(orderId: $o) }`;

/** `couponIssueNewUser(memberId)`: the member's NEW_USER coupons, once; answers how many were issued now. Variable `memberId`. */
export const COUPON_ISSUE_NEW_USER_MUTATION = `mutation($memberId: ID!) { couponIssueNewUser(memberId: $memberId) }`;
export interface CouponIssueNewUserAnswer {
  couponIssueNewUser: number;
}
