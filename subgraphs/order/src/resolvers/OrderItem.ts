import { formatAmount } from "@mallgraph/platform/money";
import type { OrderItemResolvers } from "../generated/graphql.ts";

export const OrderItem: OrderItemResolvers = {
  sku: (i) => ({ __typename: "Sku", id: i.skuId }),
  price: (i) => formatAmount(i.price, i.currency),
  subtotal: (i) => formatAmount(i.subtotal, i.currency),
  discount: (i) => formatAmount(i.discount, i.currency),
  payable: (i) => formatAmount(i.payable, i.currency),
};
