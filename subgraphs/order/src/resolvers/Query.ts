import { asAdmin, asGatewayEvent, asMember, memberId } from "@mallgraph/platform/access";
import { listWorkflowRuns } from "@mallgraph/platform/workflow";
import type { Context } from "../context.ts";
import type { QueryResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

/** `order(id)`: members get their own order; operators with order:read any order (as the schema says). */
const ownOrder = asMember((_p: unknown, { id }: { id: string }, ctx: Context) => ctx.services.orders.getForBuyer(id, memberId(ctx)));
const anyOrder = asAdmin("order:read", (_p: unknown, { id }: { id: string }, ctx: Context) => ctx.services.orders.get(id));

export const Query: QueryResolvers = {
  order: (p, a, ctx, i) => (ctx.identity.kind === "admin" ? anyOrder : ownOrder)(p, a, ctx, i),
  myOrders: asMember((_p, { status, first, after }, ctx) =>
    ctx.services.orders.list({ buyerId: memberId(ctx), status }, first ?? 20, after),
  ),
  adminOrders: asAdmin("order:read", (_p, { status, buyerId, first, after }, ctx) =>
    ctx.services.orders.list({ buyerId: buyerId ?? undefined, status }, first ?? 20, after),
  ),
  adminAfterSales: asAdmin("order:read", (_p, { status, first }, ctx) => ctx.services.orders.listAfterSales(status, first ?? 50)),
  adminOrderWorkflowRuns: asAdmin("workflow:read", (_p, a, ctx) => listWorkflowRuns(ctx.services.workflows, a)),
  orderStatusChangedEvent: asGatewayEvent((_p, { orderId, eventId }, ctx) =>
    ctx.services.orders.statusEvent(orderId, eventId, ctx.identity.kind === "member" ? ctx.identity.id : undefined),
  ),
  orderForPayment: asInternal("orderForPayment", (_p, { id }, ctx) => ctx.services.orders.forPayment(id, (i) => ctx.orderLoader.load(i))),
  purchaseVerified: asInternal("purchaseVerified", (_p, { orderId, memberId: m, skuId }, ctx) =>
    ctx.services.orders.purchaseVerified(orderId, m, skuId),
  ),
  memberOpenOrders: asInternal("memberOpenOrders", (_p, { memberId: m }, ctx) => ctx.services.orders.memberOpenOrders(m)),
  memberOrdersExport: asInternal("memberOrdersExport", async (_p, { memberId: m }, ctx) =>
    JSON.stringify(await ctx.services.orders.memberOrdersExport(m)),
  ),
};
