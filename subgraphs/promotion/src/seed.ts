/**
 * Demo data (idempotent upserts by fixed ids): four coupon templates, one of each type — 满100减20
 * (FULL_REDUCTION), 85折 capped at 50 (DISCOUNT), 立减5 (NO_THRESHOLD) and the 新人券 (NEW_USER,
 * issued at registration). Seckill sessions are not seeded: creating one takes stock from the
 * running catalog subgraph (adminCreateSeckillSession).
 */
import { databaseUrlOf, loadConfig, type Config } from "@mallgraph/platform/config";
import { defined } from "@mallgraph/platform/errors";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { PrismaClient } from "./generated/prisma/client.ts";
import type { Prisma } from "./generated/prisma/client.ts";

const TEMPLATES: Array<Omit<Prisma.CouponTemplateCreateInput, "coupons">> = [
  {
    id: "demo-full-reduction",
    name: "满100减20",
    type: "FULL_REDUCTION",
    currency: "CNY",
    threshold: "100",
    amount: "20",
    validDays: 7,
    totalQuantity: 100000,
    perUserLimit: 2,
  },
  {
    id: "demo-discount",
    name: "85折 (最高减50)",
    type: "DISCOUNT",
    currency: "CNY",
    threshold: "0",
    rate: "0.85",
    cap: "50",
    validDays: 7,
    totalQuantity: 100000,
    perUserLimit: 1,
  },
  {
    id: "demo-no-threshold",
    name: "立减5元",
    type: "NO_THRESHOLD",
    currency: "CNY",
    threshold: "0",
    amount: "5",
    validDays: 3,
    totalQuantity: 100000,
    perUserLimit: 1,
  },
  {
    id: "demo-new-user",
    name: "新人券 10元",
    type: "NEW_USER",
    currency: "CNY",
    threshold: "0",
    amount: "10",
    validDays: 30,
    totalQuantity: 1000000,
    perUserLimit: 1,
  },
];

export async function seedPromotion(prisma: PrismaClient): Promise<string> {
  for (const t of TEMPLATES) {
    const { id, issuedCount: _ignored, ...rest } = t as typeof t & { issuedCount?: number };
    await prisma.couponTemplate.upsert({ where: { id: defined(id, "a seed template's id") }, create: t, update: rest });
  }
  return `${TEMPLATES.length} coupon templates`;
}

export async function seed(config: Config = loadConfig()): Promise<string> {
  const prisma = new PrismaClient({ adapter: runtimeAdapter(databaseUrlOf(config, "promotion")) });
  try {
    return await seedPromotion(prisma);
  } finally {
    await prisma.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  seed()
    .then((s) => {
      console.log(s);
      process.exit(0);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
