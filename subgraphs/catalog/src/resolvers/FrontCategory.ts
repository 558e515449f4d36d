import type { FrontCategoryResolvers } from "../generated/graphql.ts";
import type { ProductView } from "../services/products.ts";

export const FrontCategory: FrontCategoryResolvers = {
  backCategories: (f) => f.links.map((l) => ({ ...l.category, children: [] })),
  products: async (f, { first }, ctx) => {
    const ids = await ctx.services.taxonomy.frontCategorySpuIds(f.id, f.kind, first ?? 20);
    const views = await ctx.loaders.product.loadMany(ids);
    return views.filter((v): v is ProductView => !!v && !(v instanceof Error));
  },
};
