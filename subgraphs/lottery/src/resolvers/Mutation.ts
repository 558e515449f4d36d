import { asAdmin, asMember, assertPermission, memberId } from "@mallgraph/platform/access";
import { badInput } from "@mallgraph/platform/errors";
import { retryWorkflowRun } from "@mallgraph/platform/workflow";
import type { LotteryAwardInput, MutationResolvers } from "../generated/graphql.ts";

const time = (v: string, field: string) => {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badInput(`${field} must be an ISO-8601 time`, { field });
  return d;
};
const id = (v: string, field: string) => {
  if (!v?.trim() || v.length > 64) throw badInput(`${field} must be a non-empty id`, { field });
  return v;
};
const opt = <T>(v: T | null | undefined): T | undefined => v ?? undefined;

export const Mutation: MutationResolvers = {
  adminRetryLotteryWorkflowRun: asAdmin("workflow:write", (_p, { id }, ctx) => retryWorkflowRun(ctx.services.workflows, id)),
  adminCreateRedEnvelopeRain: asAdmin("lottery:write", (_p, { input }, ctx) =>
    ctx.services.rain.create(input, assertPermission(ctx, "lottery:write")),
  ),
  adminReconcileRedEnvelopeRains: asAdmin("redis:reconcile", (_p, { rainId }, ctx) => ctx.services.rain.reconcile(rainId)),
  adminCloseRedEnvelopeRain: asAdmin("lottery:write", (_p, { id }, ctx) => ctx.services.rain.close(id)),
  adminSaveLotteryStrategy: asAdmin("lottery:write", (_p, { input }, ctx) =>
    ctx.services.setup.saveStrategy({
      name: input.name,
      awards: input.awards.map((a: LotteryAwardInput) => ({
        name: a.name,
        kind: a.kind,
        rate: a.rate,
        points: opt(a.points),
        couponTemplateId: opt(a.couponTemplateId),
        skuId: opt(a.skuId),
        stock: opt(a.stock),
        lockAfterDraws: opt(a.lockAfterDraws),
      })),
      fallback: input.fallbackAward,
      blacklistAward: opt(input.blacklistAward),
      blacklist: opt(input.blacklist),
      weightRules: opt(input.weightRules),
    }),
  ),
  adminRemoveLotteryBlacklistEntries: asAdmin("lottery:write", (_p, { strategyId, memberIds }, ctx) =>
    ctx.services.setup.removeFromBlacklist(id(strategyId, "strategyId"), memberIds),
  ),
  adminSaveLotteryActivity: asAdmin("lottery:write", (_p, { input }, ctx) =>
    ctx.services.setup.saveActivity({
      name: input.name,
      strategyId: input.strategyId,
      state: input.state,
      startsAt: time(input.startsAt, "startsAt"),
      endsAt: time(input.endsAt, "endsAt"),
      quotaTotal: opt(input.quotaTotal),
      quotaMonth: opt(input.quotaMonth),
      quotaDay: opt(input.quotaDay),
      pointsPerDraw: opt(input.pointsPerDraw),
    }),
  ),
  grabRedEnvelope: asMember((_p, { rainId }, ctx) => ctx.services.rain.grab(rainId, memberId(ctx))),
  draw: asMember(async (_p, { activityId, idempotencyKey }, ctx) => {
    const r = await ctx.services.draws.draw(memberId(ctx), activityId, idempotencyKey);
    return { code: r.code, award: r.award, orderId: r.orderId };
  }),
  signIn: asMember((_p, { activityId }, ctx) => ctx.services.rebates.signIn(memberId(ctx), activityId)),
  adminSetLotteryActivitySwitches: asAdmin("lottery:write", (_p, { activityId, degraded, drawsPerSecond }, ctx) =>
    ctx.services.setup.setSwitches(activityId, { degraded: opt(degraded), drawsPerSecond: opt(drawsPerSecond) }),
  ),
  adminSaveLotteryActivitySku: asAdmin("lottery:write", (_p, { input }, ctx) => ctx.services.packs.save(input)),
  buyDrawPack: asMember((_p, { skuId, idempotencyKey }, ctx) => ctx.services.packs.buy(memberId(ctx), id(skuId, "skuId"), idempotencyKey)),
  claimPrize: asMember((_p, { drawId, addressId }, ctx) =>
    ctx.services.delivery.claim(memberId(ctx), id(drawId, "drawId"), id(addressId, "addressId")),
  ),
  adminRetryDrawDelivery: asAdmin("lottery:write", (_p, { drawId }, ctx) => ctx.services.delivery.retry(id(drawId, "drawId"))),
  exchangePointsForDraws: asMember((_p, { activityId, count, idempotencyKey }, ctx) =>
    ctx.services.rebates.exchangePointsForDraws(memberId(ctx), activityId, count, idempotencyKey),
  ),
};
