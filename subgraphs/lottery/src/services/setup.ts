/**
 * Creating strategies and activities (used by the seed and tests; operators' GraphQL mutations for
 * this are not built yet). Idempotent: strategies, awards and activities are upserted by name.
 */
import { badInput } from "@mallgraph/platform/errors";
import { Decimal } from "@mallgraph/platform/money";
import type { PrismaClient, AwardKind, Strategy, Award, Activity } from "../generated/prisma/client.ts";
import { TABLE_SCALE, slotsOf } from "./table.ts";

export interface AwardDef {
  name: string;
  kind: AwardKind;
  points?: number;
  rate: string;
  /** -1 / absent = unlimited. */
  stock?: number;
  lockAfterDraws?: number;
}

export interface StrategyDef {
  name: string;
  awards: AwardDef[];
  /** Award names. */
  fallback: string;
  blacklistAward?: string;
  blacklist?: string[];
  weightRules?: Array<{ minPointsSpent: number; awards: string[] }>;
}

export async function upsertStrategy(prisma: PrismaClient, def: StrategyDef): Promise<Strategy & { awards: Award[] }> {
  const slots = def.awards.reduce((s, a) => s + slotsOf(a.rate), 0);
  if (slots !== TABLE_SCALE) throw badInput(`award rates must sum to 1 (they sum to ${new Decimal(slots).div(TABLE_SCALE)})`);
  const names = new Set(def.awards.map((a) => a.name));
  for (const n of [def.fallback, def.blacklistAward, ...(def.weightRules ?? []).flatMap((w) => w.awards)]) if (n && !names.has(n)) throw badInput(`unknown award ${n}`);
  return prisma.$transaction(async (tx) => {
    let strategy = await tx.strategy.upsert({ where: { name: def.name }, create: { name: def.name, fallbackAwardId: "" }, update: {} });
    const byName = new Map<string, Award>();
    for (const [i, a] of def.awards.entries()) {
      const stock = a.stock ?? -1;
      const data = { kind: a.kind, points: a.points ?? 0, rate: a.rate, lockAfterDraws: a.lockAfterDraws ?? 0, sortOrder: i };
      const row = await tx.award.upsert({
        where: { strategyId_name: { strategyId: strategy.id, name: a.name } },
        create: { strategyId: strategy.id, name: a.name, stockTotal: stock, stock, ...data },
        update: data,
      });
      byName.set(a.name, row);
    }
    strategy = await tx.strategy.update({
      where: { id: strategy.id },
      data: {
        fallbackAwardId: byName.get(def.fallback)!.id,
        blacklistAwardId: def.blacklistAward ? byName.get(def.blacklistAward)!.id : null,
        weightRules: (def.weightRules ?? []).map((w) => ({ minPointsSpent: w.minPointsSpent, awardIds: w.awards.map((n) => byName.get(n)!.id) })),
      },
    });
    for (const memberId of def.blacklist ?? []) await tx.strategyBlacklist.upsert({ where: { strategyId_memberId: { strategyId: strategy.id, memberId } }, create: { strategyId: strategy.id, memberId }, update: {} });
    return { ...strategy, awards: [...byName.values()] };
  });
}

export interface ActivityDef {
  name: string;
  strategyId: string;
  startsAt: Date;
  endsAt: Date;
  state?: "DRAFT" | "ONLINE" | "CLOSED";
  quotaTotal?: number;
  quotaMonth?: number;
  quotaDay?: number;
  pointsPerDraw?: number;
}

export async function upsertActivity(prisma: PrismaClient, def: ActivityDef): Promise<Activity> {
  if (def.endsAt <= def.startsAt) throw badInput("endsAt must be after startsAt");
  const data = { strategyId: def.strategyId, startsAt: def.startsAt, endsAt: def.endsAt, state: def.state ?? "ONLINE", quotaTotal: def.quotaTotal ?? 0, quotaMonth: def.quotaMonth ?? 0, quotaDay: def.quotaDay ?? 0, pointsPerDraw: def.pointsPerDraw ?? 0 };
  return prisma.activity.upsert({ where: { name: def.name }, create: { name: def.name, ...data }, update: data });
}
