import { formatAmount } from "@mallgraph/platform/money";
import type { Context } from "../context.ts";
import type { OrderAddress, OrderResolvers } from "../generated/graphql.ts";
import type { OrderRecord } from "../services/types.ts";

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Who may resolve an order as an entity: its buyer, operators with order:read (or payment:read, for Payment.order), trusted services. */
function visible(o: OrderRecord | null, ctx: Context): OrderRecord | null {
  if (!o) return null;
  const id = ctx.identity;
  if (id.kind === "internal") return o;
  if (id.kind === "admin" && (id.permissions?.includes("order:read") || id.permissions?.includes("payment:read"))) return o;
  if (id.kind === "member" && id.id === o.buyerId) return o;
  return null;
}

export const Order: OrderResolvers = {
  __resolveReference: async (ref, ctx) => visible(await ctx.orderLoader.load(ref.id), ctx),
  buyer: (o) => ({ __typename: "Member", id: o.buyerId }),
  status: (o) => o.status,
  itemsTotal: (o) => formatAmount(o.itemsTotal, o.currency),
  discount: (o) => formatAmount(o.discount, o.currency),
  payable: (o) => formatAmount(o.payable, o.currency),
  refundedAmount: (o) => formatAmount(o.refundedAmount, o.currency),
  items: async (o, _a, ctx) => {
    const items = o.items ?? (await ctx.orderLoader.load(o.id))?.items ?? [];
    return items.map((i) => ({ ...i, currency: o.currency }));
  },
  address: (o) => o.address as OrderAddress,
  createdAt: (o) => o.createdAt.toISOString(),
  expiresAt: (o) => o.expiresAt.toISOString(),
  paidAt: (o) => iso(o.paidAt),
  shippedAt: (o) => iso(o.shippedAt),
  completedAt: (o) => iso(o.completedAt),
  cancelledAt: (o) => iso(o.cancelledAt),
  shipment: (o, _a, ctx) => ctx.services.orders.shipment(o.id),
  history: (o, _a, ctx) => ctx.services.orders.history(o.id),
  afterSales: (o, _a, ctx) => ctx.services.orders.afterSales(o.id),
};
