import { asAdmin, asGatewayEvent, asInternal, asMember, memberId } from "@mallgraph/platform/access";
import type { QueryResolvers } from "../generated/graphql.ts";

export const Query: QueryResolvers = {
  order: asMember((_p, { id }, ctx) => ctx.services.orders.getForBuyer(id, memberId(ctx))),
  myOrders: asMember((_p, { status, first, after }, ctx) => ctx.services.orders.list({ buyerId: memberId(ctx), status }, first ?? 20, after)),
  adminOrders: asAdmin("order:read", (_p, { status, buyerId, first, after }, ctx) => ctx.services.orders.list({ buyerId: buyerId ?? undefined, status }, first ?? 20, after)),
  adminAfterSales: asAdmin("order:read", (_p, { status, first }, ctx) => ctx.services.orders.listAfterSales(status, first ?? 50)),
  orderStatusChangedEvent: asGatewayEvent((_p, { orderId, eventId }, ctx) =>
    ctx.services.orders.statusEvent(orderId, eventId, ctx.identity.kind === "member" ? ctx.identity.id : undefined),
  ),
  orderForPayment: asInternal((_p, { id }, ctx) => ctx.services.orders.forPayment(id)),
  purchaseVerified: asInternal((_p, { orderId, memberId: m, skuId }, ctx) => ctx.services.orders.purchaseVerified(orderId, m, skuId)),
};
