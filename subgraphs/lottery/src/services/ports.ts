/**
 * What lottery needs from other domains (docs/service-contracts.md), each idempotent per reference:
 * member's marketing account (a rain's total frozen in MARKETING when it is created,
 * `marketingBudgetFreeze`; each grab a transfer from that freeze to the member, `marketingGrant`;
 * the rest released at close, `marketingBudgetRelease`), promotion's `couponGrant` (COUPON awards,
 * reference `lottery:<drawId>`) and order's `orderCreatePrize` (GOODS awards, one per draw).
 */
import type { Keys } from "@mallgraph/platform/auth";
import {
  marketingBudgetMutation,
  memberWalletOpMutation,
  type MarketingBudgetOp,
  type WalletOpResult,
} from "@mallgraph/platform/contracts/member";
import { ORDER_CREATE_PRIZE_MUTATION, type OrderCreatePrizeAnswer, type SeckillOrderResult } from "@mallgraph/platform/contracts/order";
import { COUPON_GRANT_MUTATION, type CouponGrantAnswer, type CouponGrantResult } from "@mallgraph/platform/contracts/promotion";
import { defined } from "@mallgraph/platform/errors";
import { createServiceClient } from "@mallgraph/platform/service-client";

export type { WalletOpResult } from "@mallgraph/platform/contracts/member";

export interface WalletPort {
  /** A grab: the share goes from the rain's freeze in MARKETING to the member. */
  credit(memberId: string, currency: string, amount: string, reference: string): Promise<WalletOpResult>;
  /** A rain's total frozen in MARKETING (INSUFFICIENT_BALANCE when the budget is short). */
  freezeBudget(currency: string, amount: string, reference: string): Promise<WalletOpResult>;
  /** What is left of a rain's freeze goes back to MARKETING's balance, once. */
  releaseBudget(currency: string, amount: string, reference: string): Promise<WalletOpResult>;
}

export function memberWalletPort(opts: { url: string; secret: Keys }): WalletPort {
  const client = createServiceClient({ url: opts.url, secret: opts.secret, service: "lottery" });
  const budget = async (op: MarketingBudgetOp, currency: string, amount: string, reference: string) => {
    const d = await client.request<Record<string, WalletOpResult>>(marketingBudgetMutation(op), { c: currency, a: amount, r: reference });
    return defined(d[op], `${op}'s answer`);
  };
  return {
    async credit(memberId, currency, amount, reference) {
      const d = await client.request<{ marketingGrant: WalletOpResult }>(memberWalletOpMutation("marketingGrant"), {
        m: memberId,
        c: currency,
        a: amount,
        r: reference,
      });
      return d.marketingGrant;
    },
    freezeBudget: (currency, amount, reference) => budget("marketingBudgetFreeze", currency, amount, reference),
    releaseBudget: (currency, amount, reference) => budget("marketingBudgetRelease", currency, amount, reference),
  };
}

export interface CouponPort {
  grant(memberId: string, templateId: string, reference: string): Promise<CouponGrantResult>;
}

export function promotionCouponPort(opts: { url: string; secret: Keys }): CouponPort {
  const client = createServiceClient({ url: opts.url, secret: opts.secret, service: "lottery" });
  return {
    async grant(memberId, templateId, reference) {
      const d = await client.request<CouponGrantAnswer>(COUPON_GRANT_MUTATION, { m: memberId, t: templateId, r: reference });
      return d.couponGrant;
    },
  };
}

/** `orderCreatePrize`: code OK | NO_ADDRESS | ADDRESS_NOT_FOUND | NOT_FOUND (SKU). */
export interface PrizeOrderPort {
  create(drawId: string, buyerId: string, skuId: string, addressId: string | null): Promise<SeckillOrderResult>;
}

export function orderPrizePort(opts: { url: string; secret: Keys }): PrizeOrderPort {
  const client = createServiceClient({ url: opts.url, secret: opts.secret, service: "lottery" });
  return {
    async create(drawId, buyerId, skuId, addressId) {
      const d = await client.request<OrderCreatePrizeAnswer>(ORDER_CREATE_PRIZE_MUTATION, {
        d: drawId,
        b: buyerId,
        s: skuId,
        a: addressId,
      });
      return d.orderCreatePrize;
    },
  };
}
