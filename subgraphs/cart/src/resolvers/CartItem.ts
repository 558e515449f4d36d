import type { CartItemResolvers } from "../generated/graphql.ts";

export const CartItem: CartItemResolvers = {
  sku: (line) => ({ __typename: "Sku", id: line.skuId }),
  addedAt: (line) => new Date(line.addedAt).toISOString(),
};
