import type { SeckillItemResolvers } from "../generated/graphql.ts";

export const SeckillItem: SeckillItemResolvers = {
  sku: (i) => ({ __typename: "Sku", id: i.skuId }),
};
