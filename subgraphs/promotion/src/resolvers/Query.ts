import { asAdmin, asGatewayEvent, asMember, memberId } from "@mallgraph/platform/access";
import { listWorkflowRuns } from "@mallgraph/platform/workflow";
import type { QueryResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

export const Query: QueryResolvers = {
  adminPromotionWorkflowRuns: asAdmin("workflow:read", (_p, a, ctx) => listWorkflowRuns(ctx.services.workflows, a)),
  seckillSessions: (_p, _a, ctx) => ctx.services.seckill.listSessions(),
  seckillReservation: asMember((_p, { id }, ctx) => ctx.services.seckill.reservation(id, memberId(ctx))),
  seckillReservationChangedEvent: asGatewayEvent((_p, { reservationId }, ctx) =>
    ctx.identity.kind === "member" && ctx.identity.id ? ctx.services.seckill.reservation(reservationId, ctx.identity.id) : null,
  ),
  couponTemplates: (_p, _a, ctx) => ctx.services.couponTemplates.list(),
  adminCouponTemplates: asAdmin("promotion:write", (_p, _a, ctx) => ctx.services.couponTemplates.list(false)),
  myCoupons: asMember((_p, _a, ctx) => ctx.services.coupons.mine(memberId(ctx))),
  fullReductionCampaigns: (_p, _a, ctx) => ctx.services.campaigns.live(),
  adminFullReductionCampaigns: asAdmin("promotion:write", (_p, { status }, ctx) => ctx.services.campaigns.list(status)),
  promotionPrice: asInternal("promotionPrice", (_p, a, ctx) => ctx.services.pricing.quote(a)),
  myBestCoupon: asMember((_p, { itemsTotal, currency, spuIds, categoryIds }, ctx) =>
    ctx.services.coupons.best(memberId(ctx), itemsTotal, currency, spuIds ?? [], categoryIds ?? []),
  ),
};
