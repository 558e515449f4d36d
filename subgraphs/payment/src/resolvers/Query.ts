import { asAdmin, asGatewayEvent, asMember, memberId } from "@mallgraph/platform/access";
import { listWorkflowRuns } from "@mallgraph/platform/workflow";
import type { QueryResolvers } from "../generated/graphql.ts";
import { asBuyerOrAdmin, asMerchantStaff } from "./access.ts";
import { asInternal } from "./internal.ts";

export const Query: QueryResolvers = {
  adminPaymentWorkflowRuns: asAdmin("workflow:read", (_p, a, ctx) => listWorkflowRuns(ctx.services.workflows, a)),
  payment: asBuyerOrAdmin("payment:read", (_p, { id }, ctx, v) =>
    v.kind === "buyer" ? ctx.services.payments.getForBuyer(id, v.id) : ctx.services.payments.get(id),
  ),
  paymentsForOrder: asBuyerOrAdmin("payment:read", (_p, { orderId }, ctx, v) =>
    ctx.services.payments.forOrder(orderId, v.kind === "buyer" ? v.id : undefined),
  ),
  payout: asMember((_p, { id }, ctx) => ctx.services.payments.payout(memberId(ctx), id)),
  myOrganizations: asMember((_p, _a, ctx) => ctx.services.merchants.organizationsOf(memberId(ctx))),
  merchantTransactionOverview: asMerchantStaff((_p, { merchantId, from, to }, ctx) =>
    ctx.services.reports.overview(from, to, null, merchantId),
  ),
  adminOrganizations: asAdmin("payment:read", (_p, _a, ctx) => ctx.services.merchants.organizations()),
  adminMerchants: asAdmin("payment:read", (_p, _a, ctx) => ctx.services.merchants.merchants()),
  adminPayment: asAdmin("payment:read", (_p, { id }, ctx) => ctx.services.payments.get(id)),
  adminReconciliationReport: asAdmin("payment:read", (_p, { date, channel }, ctx) =>
    ctx.services.reports.report(date, channel ?? "SANDBOX"),
  ),
  adminTransactionOverview: asAdmin("payment:read", (_p, { from, to, appId }, ctx) => ctx.services.reports.overview(from, to, appId)),
  adminExportTransactions: asAdmin("payment:read", (_p, { from, to }, ctx) => ctx.services.reports.exportCsv(from, to)),
  adminCallbackAnomalies: asAdmin("payment:read", (_p, { first }, ctx) => ctx.services.payments.callbackAnomalies(first)),
  paymentStatusChangedEvent: asGatewayEvent(async (_p, { paymentId, eventId }, ctx) => {
    const e = await ctx.services.payments.event(paymentId, eventId);
    if (!e) return null;
    const id = ctx.identity;
    if (id.kind === "member" && id.id !== e.buyerId) return null;
    return e;
  }),
  orderPayments: asInternal("orderPayments", (_p, { orderId }, ctx) => ctx.services.payments.forOrder(orderId)),
};
