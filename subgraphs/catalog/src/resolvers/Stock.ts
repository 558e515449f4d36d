import { asAdmin } from "@mallgraph/platform/access";
import type { StockResolvers } from "../generated/graphql.ts";

export const Stock: StockResolvers = {
  reserved: asAdmin("catalog:read", (s) => s.reserved),
  sold: asAdmin("catalog:read", (s) => s.sold),
};
