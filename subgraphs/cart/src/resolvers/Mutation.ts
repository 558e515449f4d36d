import { asMember, memberId } from "@mallgraph/platform/access";
import type { MutationResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

export const Mutation: MutationResolvers = {
  addToCart: asMember((_p, { skuId, quantity }, ctx) => ctx.services.cart.add(memberId(ctx), skuId, quantity)),
  updateCartItem: asMember((_p, { skuId, quantity }, ctx) => ctx.services.cart.update(memberId(ctx), skuId, quantity)),
  removeFromCart: asMember((_p, { skuIds }, ctx) => ctx.services.cart.remove(memberId(ctx), skuIds)),
  checkCartItems: asMember((_p, { skuIds, checked }, ctx) => ctx.services.cart.check(memberId(ctx), skuIds, checked)),
  clearCart: asMember((_p, _a, ctx) => ctx.services.cart.clear(memberId(ctx))),
  cartRemoveSkus: asInternal("cartRemoveSkus", (_p, { memberId: id, skuIds }, ctx) => ctx.services.cart.removeSkus(id, skuIds)),
};
