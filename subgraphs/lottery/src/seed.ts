/**
 * Demo data (idempotent): strategy "demo-lucky-wheel" with 5 awards (rates sum to 1) and the
 * activity "每日幸运大转盘" online from now for a year (3 draws a day, 60 a month, 500 in total;
 * bonus draws for 100 points each). The COUPON award grants promotion's demo template, the GOODS
 * award ships one of catalog's demo SKUs.
 * Red-envelope rains are not seeded: operators create them.
 */
import { databaseUrlOf, loadConfig, type Config } from "@mallgraph/platform/config";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { PrismaClient } from "./generated/prisma/client.ts";
import { LotterySetup } from "./services/setup.ts";

export const DEMO_ACTIVITY = "每日幸运大转盘";
/** Seeded by promotion and catalog (their demo data has fixed ids). */
const DEMO_COUPON_TEMPLATE = "demo-full-reduction";
const DEMO_PRIZE_SKU = "seed-spu-0001-1";

export async function seedLottery(prisma: PrismaClient): Promise<string> {
  const setup = new LotterySetup({ prisma });
  const strategy = await setup.saveStrategy({
    name: "demo-lucky-wheel",
    awards: [
      { name: "10 积分", kind: "POINTS", points: 10, rate: "0.6000" },
      { name: "50 积分", kind: "POINTS", points: 50, rate: "0.2500" },
      { name: "200 积分", kind: "POINTS", points: 200, rate: "0.1000", stock: 1000 },
      { name: "满100减20 优惠券", kind: "COUPON", couponTemplateId: DEMO_COUPON_TEMPLATE, rate: "0.0400", stock: 500, lockAfterDraws: 3 },
      { name: "蓝牙耳机", kind: "GOODS", skuId: DEMO_PRIZE_SKU, rate: "0.0100", stock: 10, lockAfterDraws: 5 },
    ],
    fallback: "10 积分",
    blacklistAward: "10 积分",
    weightRules: [{ minPointsSpent: 1000, awards: ["50 积分", "200 积分", "满100减20 优惠券", "蓝牙耳机"] }],
  });
  const existing = await prisma.activity.findUnique({ where: { name: DEMO_ACTIVITY } });
  const startsAt = existing?.startsAt ?? new Date(Date.now() - 60_000);
  const endsAt = existing && existing.endsAt.getTime() > Date.now() ? existing.endsAt : new Date(Date.now() + 365 * 24 * 3600_000);
  const activity = await setup.saveActivity({
    name: DEMO_ACTIVITY,
    strategyId: strategy.id,
    startsAt,
    endsAt,
    state: "ONLINE",
    quotaDay: 3,
    quotaMonth: 60,
    quotaTotal: 500,
    pointsPerDraw: 100,
  });
  return `activity "${DEMO_ACTIVITY}" (${activity.id}) online until ${activity.endsAt.toISOString()}, strategy with ${strategy.awards.length} awards`;
}

export async function seed(config: Config = loadConfig(), databaseUrl?: string): Promise<string> {
  const prisma = new PrismaClient({ adapter: runtimeAdapter(databaseUrl ?? databaseUrlOf(config, "lottery")) });
  try {
    return await seedLottery(prisma);
  } finally {
    await prisma.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await seed());
}
