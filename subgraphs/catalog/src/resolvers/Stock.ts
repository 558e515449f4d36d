import { assertPermission } from "@mallgraph/platform/access";
import type { Context } from "../context.ts";
import type { StockResolvers } from "../generated/graphql.ts";

/** reserved / sold are for operators holding catalog:read or catalog:write (and services). */
function operatorOnly<T>(get: (s: { reserved: number; sold: number }) => T) {
  return (s: { reserved: number; sold: number }, _a: unknown, ctx: Context) => {
    try {
      assertPermission(ctx, "catalog:read");
    } catch {
      assertPermission(ctx, "catalog:write");
    }
    return get(s);
  };
}

export const Stock: StockResolvers = {
  reserved: operatorOnly((s) => s.reserved),
  sold: operatorOnly((s) => s.sold),
};
