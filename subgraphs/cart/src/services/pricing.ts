/**
 * The cart's prices with promotions come from promotion's pricing function (internal field
 * `promotionPrice`), once per coupon and request: `Cart.totals`, `Cart.pricing(couponId)` and
 * `Cart.applicableCoupons` of one query share the quotes they need.
 */
import { logger } from "@mallgraph/platform/log";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import type { PromotionPort } from "./ports.ts";
import type { CartTotalsView, CartView, PriceQuote } from "./types.ts";

const log = logger("cart-pricing");

/** Per-request memo of quotes, keyed by cart, coupon and whether the coupon options were asked for. */
export type QuoteMemo = Map<string, Promise<PriceQuote>>;

export function quote(
  promotion: PromotionPort,
  memo: QuoteMemo,
  cart: CartView,
  couponId: string | null,
  withCoupons: boolean,
): Promise<PriceQuote> {
  const key = `${cart.id}|${couponId ?? ""}|${withCoupons}`;
  let q = memo.get(key);
  if (!q) {
    q = promotion.price({ memberId: cart.id, currency: cart.currency, lines: cart.priced, couponId, withCoupons });
    memo.set(key, q);
  }
  return q;
}

/**
 * Totals with the campaigns' discount (no coupon). A quote of this request is reused (the campaigns'
 * part does not depend on the coupon). When promotion cannot be reached the totals show no discount
 * (logged): the cart stays readable, and placeOrder prices again anyway.
 */
export async function totals(promotion: PromotionPort, memo: QuoteMemo, cart: CartView): Promise<CartTotalsView> {
  const base = { itemsTotal: cart.itemsTotal, currency: cart.currency, checkedQuantity: cart.checkedQuantity };
  let discount = new Decimal(0);
  if (cart.priced.length) {
    const mine = [...memo.entries()].find(([k]) => k.startsWith(`${cart.id}|`))?.[1];
    try {
      discount = new Decimal((await (mine ?? quote(promotion, memo, cart, null, false))).campaignDiscount);
    } catch (err) {
      log.warn({ err, memberId: cart.id }, "promotion unavailable: cart totals without campaigns");
    }
  }
  return {
    ...base,
    discount: formatAmount(discount, cart.currency),
    payable: formatAmount(new Decimal(cart.itemsTotal).minus(discount), cart.currency),
  };
}
