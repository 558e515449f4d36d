import { formatAmount } from "@mallgraph/platform/money";
import type { Context } from "../context.ts";
import type { CouponResolvers } from "../generated/graphql.ts";
import { displayStatus, type CouponWithTemplate } from "../services/coupons.ts";

/** Who may resolve a coupon as an entity: its owner, operators (promotion:write), trusted services. */
function visible(c: CouponWithTemplate | null, ctx: Context): CouponWithTemplate | null {
  const id = ctx.identity;
  if (!c) return null;
  if (id.kind === "internal" || (id.kind === "member" && id.id === c.memberId)) return c;
  return id.kind === "admin" && id.permissions?.includes("promotion:write") ? c : null;
}

export const Coupon: CouponResolvers = {
  __resolveReference: async (ref, ctx) => visible(await ctx.couponLoader.load(ref.id), ctx),
  status: (c) => displayStatus(c) as "UNUSED" | "LOCKED" | "USED" | "EXPIRED",
  validFrom: (c) => c.validFrom.toISOString(),
  validTo: (c) => c.validTo.toISOString(),
  discount: (c) => (c.discount ? formatAmount(c.discount, c.template.currency) : null),
};
