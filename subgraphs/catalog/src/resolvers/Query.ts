import { asAdmin } from "@mallgraph/platform/access";
import { notFound } from "../errors.ts";
import type { QueryResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

const isOperator = (kind: string) => kind === "admin" || kind === "internal";

export const Query: QueryResolvers = {
  categories: (_p, _a, ctx) => ctx.services.categories.tree(),
  category: (_p, { id }, ctx) => ctx.services.categories.get(id),
  frontCategories: (_p, _a, ctx) => ctx.services.taxonomy.frontCategories(),
  brands: (_p, { categoryId }, ctx) => ctx.services.taxonomy.brands(categoryId),
  attributes: (_p, { categoryId, kind }, ctx) => ctx.services.taxonomy.attributes(categoryId, kind),
  product: async (_p, { id }, ctx) => {
    const p = await ctx.loaders.product.load(id);
    if (!p || (p.status === "DRAFT" && !isOperator(ctx.identity.kind))) return null;
    return p;
  },
  sku: (_p, { id }, ctx) => ctx.loaders.sku.load(id),
  searchProducts: (_p, { query }, ctx) => ctx.services.search.search(query),
  searchSuggestions: (_p, { prefix, first }, ctx) => ctx.services.search.suggestions(prefix, first ?? 10),
  reviews: (_p, { spuId, first, after }, ctx) => ctx.services.reviews.list(spuId, first ?? 10, after),
  inboundRecords: asAdmin("catalog:read", async (_p, { skuId, first }, ctx) => {
    if (!(await ctx.loaders.sku.load(skuId))) throw notFound("SKU", skuId);
    return ctx.services.inventory.inboundRecords(skuId, first ?? 20);
  }),
  skuSnapshots: asInternal("skuSnapshots", (_p, { ids }, ctx) => ctx.services.products.snapshots(ids)),
  spuScopes: asInternal("spuScopes", (_p, { spuIds }, ctx) => ctx.services.categories.spuScopes(spuIds)),
};
