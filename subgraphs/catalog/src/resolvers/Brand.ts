import type { BrandResolvers } from "../generated/graphql.ts";

export const Brand: BrandResolvers = {
  categories: (b, _a, ctx) => ctx.services.taxonomy.brandCategories(b.id),
};
