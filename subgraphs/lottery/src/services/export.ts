/** The member's lottery data for their data export (PIPL; member's exportMyData asks through memberLotteryExport). */
import { formatAmount } from "@mallgraph/platform/money";
import type { PrismaClient } from "../generated/prisma/client.ts";

export async function memberLotteryExport(prisma: PrismaClient, memberId: string) {
  const [draws, grabs, points, history] = await Promise.all([
    prisma.participationOrder.findMany({ where: { memberId, awardId: { not: null } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] }),
    prisma.redEnvelopeGrab.findMany({ where: { memberId }, orderBy: [{ grabbedAt: "asc" }, { id: "asc" }] }),
    prisma.pointsAccount.findUnique({ where: { memberId } }),
    prisma.pointsLedger.findMany({ where: { memberId }, orderBy: { seq: "asc" } }),
  ]);
  const activities = new Map(
    (
      await prisma.activity.findMany({
        where: { id: { in: [...new Set(draws.map((d) => d.activityId))] } },
        select: { id: true, name: true },
      })
    ).map((a) => [a.id, a.name]),
  );
  const at = (d: Date | null) => d?.toISOString() ?? null;
  return {
    draws: draws.map((d) => ({
      activity: activities.get(d.activityId) ?? d.activityId,
      award: d.awardName,
      delivery: d.delivery,
      couponId: d.couponId,
      prizeOrderId: d.prizeOrderId,
      createdAt: at(d.createdAt),
      deliveredAt: at(d.deliveredAt),
    })),
    redEnvelopes: grabs.map((g) => ({
      rainId: g.rainId,
      amount: formatAmount(g.amount, g.currency),
      currency: g.currency,
      grabbedAt: at(g.grabbedAt),
    })),
    points: points ? { balance: points.balance, earned: points.earned, spent: points.spent } : null,
    pointsHistory: history.map((e) => ({ delta: e.delta, reason: e.reason, createdAt: at(e.createdAt) })),
  };
}
