import { notFound } from "../errors.ts";
import type { ProductSearchItemResolvers } from "../generated/graphql.ts";

export const ProductSearchItem: ProductSearchItemResolvers = {
  product: async (i, _a, ctx) => {
    const p = await ctx.loaders.product.load(i.spuId);
    if (!p) throw notFound("product", i.spuId);
    return p;
  },
};
