import { randomUUID } from "node:crypto";
import { asAdmin, asMember, memberId, operatorId } from "@mallgraph/platform/access";
import { retryWorkflowRun } from "@mallgraph/platform/workflow";
import type { MutationResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

export const Mutation: MutationResolvers = {
  adminRetryPromotionWorkflowRun: asAdmin("workflow:write", (_p, { id }, ctx) => retryWorkflowRun(ctx.services.workflows, id)),
  adminCreateSeckillSession: asAdmin("promotion:write", (_p, { input }, ctx) => ctx.services.seckill.createSession(input, operatorId(ctx))),
  adminUpdateSeckillSession: asAdmin("promotion:write", (_p, { id, input }, ctx) => ctx.services.seckill.updateSession(id, input)),
  adminCancelSeckillSession: asAdmin("promotion:write", (_p, { id }, ctx) => ctx.services.seckill.cancelSession(id)),
  adminReconcileSeckill: asAdmin("redis:reconcile", (_p, { sessionId }, ctx) => ctx.services.seckill.reconcile(sessionId)),
  seckillBuy: asMember((_p, { sessionId, skuId, quantity, idempotencyKey }, ctx) =>
    ctx.services.seckill.buy(memberId(ctx), sessionId, skuId, quantity, idempotencyKey),
  ),
  adminCreateCouponTemplate: asAdmin("promotion:write", (_p, { input }, ctx) =>
    ctx.services.couponTemplates.create(input, operatorId(ctx)),
  ),
  adminCreateFullReductionCampaign: asAdmin("promotion:write", (_p, { input }, ctx) =>
    ctx.services.campaigns.create(input, operatorId(ctx)),
  ),
  adminEndFullReductionCampaign: asAdmin("promotion:write", (_p, { id }, ctx) => ctx.services.campaigns.end(id)),
  adminUpdateCouponTemplate: asAdmin("promotion:write", (_p, { id, input }, ctx) => ctx.services.couponTemplates.update(id, input)),
  adminSetCouponTemplateActive: asAdmin("promotion:write", (_p, { id, active }, ctx) => ctx.services.couponTemplates.setActive(id, active)),
  claimCoupon: asMember((_p, { templateId }, ctx) => ctx.services.coupons.claim(memberId(ctx), templateId)),
  adminScheduleCouponIssuance: asAdmin("promotion:write", async (_p, { templateId, memberIds, at }, ctx) => {
    const plan = await ctx.services.coupons.prepareIssuance(templateId, memberIds, at);
    const id = randomUUID();
    await ctx.services.couponQueue.add(
      "issue",
      { batchId: id, templateId, memberIds: plan.memberIds },
      { jobId: id, delay: Math.max(0, plan.runAt.getTime() - Date.now()) },
    );
    return { id, templateId, memberCount: plan.memberIds.length, runAt: plan.runAt.toISOString() };
  }),
  couponGrant: asInternal("couponGrant", (_p, { memberId: m, templateId, reference }, ctx) =>
    ctx.services.coupons.grant(m, templateId, reference),
  ),
  couponLock: asInternal("couponLock", (_p, a, ctx) => ctx.services.coupons.lock(a)),
  couponRelease: asInternal("couponRelease", (_p, { orderId }, ctx) => ctx.services.coupons.release(orderId)),
  couponConsume: asInternal("couponConsume", (_p, { orderId }, ctx) => ctx.services.coupons.consume(orderId)),
  couponIssueNewUser: asInternal("couponIssueNewUser", (_p, { memberId: m }, ctx) => ctx.services.coupons.issueNewUser(m)),
};
