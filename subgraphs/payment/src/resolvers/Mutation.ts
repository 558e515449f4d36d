import { asAdmin, asMember, memberId } from "@mallgraph/platform/access";
import { retryWorkflowRun } from "@mallgraph/platform/workflow";
import type { MutationResolvers } from "../generated/graphql.ts";
import { completeSandboxPayment, completeSandboxPayout } from "../services/sandbox-checkout.ts";
import { asInternal } from "./internal.ts";

export const Mutation: MutationResolvers = {
  adminRetryPaymentWorkflowRun: asAdmin("workflow:write", (_p, { id }, ctx) => retryWorkflowRun(ctx.services.workflows, id)),
  createPayment: asMember((_p, { orderId, channel }, ctx) => ctx.services.payments.createPayment(memberId(ctx), orderId, channel)),
  topUpWallet: asMember((_p, a, ctx) => ctx.services.payments.topUp(memberId(ctx), a.currency, a.amount, a.channel, a.idempotencyKey)),
  withdrawFromWallet: asMember((_p, a, ctx) =>
    ctx.services.payments.withdraw(memberId(ctx), a.currency, a.amount, a.channel, a.idempotencyKey),
  ),
  refundWalletTopUp: asMember((_p, { paymentId }, ctx) => ctx.services.payments.refundTopUp(memberId(ctx), paymentId)),
  closePayment: asMember((_p, { paymentId }, ctx) => ctx.services.payments.closeByBuyer(memberId(ctx), paymentId)),
  sandboxCompletePayment: asMember((_p, { checkoutRef }, ctx) => completeSandboxPayment(ctx.services, memberId(ctx), checkoutRef)),
  sandboxCompletePayout: asMember((_p, { payoutId, succeed }, ctx) =>
    completeSandboxPayout(ctx.services, memberId(ctx), payoutId, succeed ?? true),
  ),

  adminCreateOrganization: asAdmin("payment:write", (_p, { input }, ctx) => ctx.services.merchants.createOrganization(input)),
  adminSetOrganizationMember: asAdmin("payment:write", (_p, { organizationId, memberId: mid, role }, ctx) =>
    ctx.services.merchants.setMember(organizationId, mid, role),
  ),
  adminCreateMerchant: asAdmin("payment:write", (_p, { input }, ctx) => ctx.services.merchants.createMerchant(input)),
  adminCreatePaymentApp: asAdmin("payment:write", (_p, { input }, ctx) => ctx.services.merchants.createApp(input)),
  adminConfigureChannel: asAdmin("payment:write", (_p, { input }, ctx) => ctx.services.merchants.configureChannel(input)),
  adminRefundPayment: asAdmin("payment:write", (_p, { paymentId, amount, reason, idempotencyKey }, ctx) =>
    ctx.services.payments.refund(
      paymentId,
      amount,
      reason,
      idempotencyKey ? `admin:${paymentId}:${idempotencyKey}` : `admin:${ctx.requestId}`,
    ),
  ),
  adminRunReconciliation: asAdmin("payment:write", (_p, { date, channel }, ctx) =>
    ctx.services.reports.reconcile(date, channel ?? "SANDBOX"),
  ),

  refundOrderPayment: asInternal("refundOrderPayment", (_p, { orderId, amount, reason, reference }, ctx) =>
    ctx.services.payments.refundOrder(orderId, amount, reason, reference),
  ),
};
