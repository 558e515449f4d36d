import { asAdmin, asMember, memberId, operatorId } from "@mallgraph/platform/access";
import { retryWorkflowRun } from "@mallgraph/platform/workflow";
import type { MutationResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

export const Mutation: MutationResolvers = {
  placeOrder: asMember((_p, { input }, ctx) => ctx.services.orders.placeOrder(memberId(ctx), input)),
  cancelOrder: asMember((_p, { id }, ctx) => ctx.services.orders.cancel(id, memberId(ctx))),
  confirmReceipt: asMember((_p, { id }, ctx) => ctx.services.orders.confirmReceipt(id, memberId(ctx))),
  requestAfterSale: asMember((_p, { orderId, type, reason, lines }, ctx) =>
    ctx.services.orders.requestAfterSale(orderId, memberId(ctx), type, reason, lines),
  ),
  adminRetryOrderWorkflowRun: asAdmin("workflow:write", (_p, { id }, ctx) => retryWorkflowRun(ctx.services.workflows, id)),
  adminShipOrder: asAdmin("order:write", (_p, { orderId, carrier, trackingNo }, ctx) =>
    ctx.services.orders.ship(orderId, carrier, trackingNo, operatorId(ctx)),
  ),
  adminAddTrackingEvent: asAdmin("order:write", (_p, { orderId, event }, ctx) => ctx.services.orders.addTrackingEvent(orderId, event)),
  adminReviewAfterSale: asAdmin("order:write", (_p, { id, approve, note }, ctx) =>
    ctx.services.orders.reviewAfterSale(id, approve, note, operatorId(ctx)),
  ),
  orderMarkPaid: asInternal("orderMarkPaid", (_p, { orderId, paymentId, channel }, ctx) =>
    ctx.services.orders.markPaid(orderId, paymentId, channel),
  ),
  orderCreateSeckill: asInternal("orderCreateSeckill", (_p, a, ctx) => ctx.services.orders.createSeckill(a)),
  orderCreateSeckillBatch: asInternal("orderCreateSeckillBatch", (_p, a, ctx) => ctx.services.orders.createSeckillBatch(a.orders)),
  orderCreatePrize: asInternal("orderCreatePrize", (_p, a, ctx) => ctx.services.orders.createPrize(a)),
  orderMarkRefunded: asInternal("orderMarkRefunded", (_p, { orderId, refundId, amount, reference }, ctx) =>
    ctx.services.orders.markRefunded(orderId, refundId, amount, reference),
  ),
};
