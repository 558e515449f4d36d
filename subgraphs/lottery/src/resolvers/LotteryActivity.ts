import type { LotteryActivityResolvers } from "../generated/graphql.ts";

export const LotteryActivity: LotteryActivityResolvers = {
  startsAt: (a) => a.startsAt.toISOString(),
  endsAt: (a) => a.endsAt.toISOString(),
  awards: (a, _x, ctx) => ctx.services.reads.awards(a.strategyId),
  skus: (a, _x, ctx) => ctx.services.packs.list(a.id),
  myQuota: (a, _x, ctx) => (ctx.identity.kind === "member" && ctx.identity.id ? ctx.services.draws.quota(a, ctx.identity.id) : null),
};
