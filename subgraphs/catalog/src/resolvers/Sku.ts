import { notFound } from "../errors.ts";
import type { SkuResolvers } from "../generated/graphql.ts";

export const Sku: SkuResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.sku.load(ref.id),
  product: async (s, _a, ctx) => {
    const p = await ctx.loaders.product.load(s.spuId);
    if (!p) throw notFound("product", s.spuId);
    return p;
  },
};
