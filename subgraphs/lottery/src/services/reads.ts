/**
 * The lottery's plain reads: lists and lookups the resolvers serve with no rule of their own
 * (newest first, limited by the caller's validated page size). Resolvers never touch Prisma.
 */
import type { DeliveryStatus, PrismaClient } from "../generated/prisma/client.ts";
import { couponTemplatesInUse } from "./award-coupons.ts";
import { memberLotteryExport } from "./export.ts";

export class LotteryReads {
  constructor(private readonly prisma: PrismaClient) {}

  /** Red-envelope rains, newest first (the operators' list). */
  rains(take: number) {
    return this.prisma.redEnvelopeRain.findMany({ orderBy: { createdAt: "desc" }, take });
  }

  /** The ONLINE activities, by start. */
  onlineActivities() {
    return this.prisma.activity.findMany({ where: { state: "ONLINE" }, orderBy: { startsAt: "asc" } });
  }

  /** A strategy's awards in their display order. */
  awards(strategyId: string) {
    return this.prisma.award.findMany({ where: { strategyId }, orderBy: { sortOrder: "asc" } });
  }

  award(id: string) {
    return this.prisma.award.findUnique({ where: { id } });
  }

  /** A member's winning draws (an award was drawn), newest first, of one activity or all. */
  memberDraws(memberId: string, activityId: string | null | undefined, take: number) {
    return this.prisma.participationOrder.findMany({
      where: { memberId, awardId: { not: null }, ...(activityId ? { activityId } : {}) },
      orderBy: { createdAt: "desc" },
      take,
    });
  }

  /** An activity's winning draws, newest first, optionally in one delivery state (the operators' list). */
  activityDraws(activityId: string, delivery: DeliveryStatus | null | undefined, take: number) {
    return this.prisma.participationOrder.findMany({
      where: { activityId, awardId: { not: null }, ...(delivery ? { delivery } : {}) },
      orderBy: { createdAt: "desc" },
      take,
    });
  }

  /** Strategies with their awards (in display order), newest first (the operators' list). */
  strategies(take: number) {
    return this.prisma.strategy.findMany({
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
      take,
      include: { awards: { orderBy: { sortOrder: "asc" } } },
    });
  }

  /** The members blacklisted by a strategy, by id. */
  async blacklist(strategyId: string): Promise<string[]> {
    const rows = await this.prisma.strategyBlacklist.findMany({
      where: { strategyId },
      orderBy: { memberId: "asc" },
      select: { memberId: true },
    });
    return rows.map((r) => r.memberId);
  }

  /** A member's red-envelope grabs, newest first. */
  memberGrabs(memberId: string, take: number) {
    return this.prisma.redEnvelopeGrab.findMany({ where: { memberId }, orderBy: { grabbedAt: "desc" }, take });
  }

  /** Internal (promotion): which of these coupon templates an award still hands out. */
  couponTemplatesInUse(templateIds: readonly string[]) {
    return couponTemplatesInUse(this.prisma, templateIds);
  }

  /** Internal (member's data export): the member's draws, red envelopes and points. */
  memberExport(memberId: string) {
    return memberLotteryExport(this.prisma, memberId);
  }
}
