import { asMember, memberId } from "@mallgraph/platform/access";
import type { QueryResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

export const Query: QueryResolvers = {
  cart: asMember((_p, _a, ctx) => ctx.services.cart.view(memberId(ctx))),
  cartCheckedLines: asInternal("cartCheckedLines", (_p, { memberId: id }, ctx) => ctx.services.cart.checkedLines(id)),
};
