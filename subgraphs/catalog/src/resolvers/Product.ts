import { Decimal } from "@mallgraph/platform/money";
import type { ProductResolvers } from "../generated/graphql.ts";
import { saleMatrix } from "../services/products.ts";

export const Product: ProductResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.product.load(ref.id),
  saleAttributeMatrix: (p) => saleMatrix(p),
  minPrice: (p) => {
    if (!p.skus.length) return null;
    return p.skus.reduce((min, s) => (new Decimal(s.price).lt(min.price) ? s : min)).price;
  },
  currency: (p) => {
    if (!p.skus.length) return null;
    return p.skus.reduce((min, s) => (new Decimal(s.price).lt(min.price) ? s : min)).currency;
  },
  ratingSummary: (p, _a, ctx) => ctx.loaders.rating.load(p.id),
  reviews: (p, { first, after }, ctx) => ctx.services.reviews.list(p.id, first ?? 10, after),
};
