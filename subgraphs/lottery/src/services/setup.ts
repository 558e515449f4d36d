/**
 * Setting lottery up: strategies with their awards, activities, the blacklist and the operators'
 * switches (the admin mutations, the seed and tests). Idempotent: strategies, awards and activities
 * are upserted by name.
 */
import { badInput, notFound, defined } from "@mallgraph/platform/errors";
import { Decimal } from "@mallgraph/platform/money";
import type { PrismaClient, AwardKind, Strategy, Award, Activity } from "../generated/prisma/client.ts";
import { TABLE_SCALE, slotsOf } from "./table.ts";

export interface AwardDef {
  name: string;
  kind: AwardKind;
  points?: number;
  /** COUPON: promotion's coupon template; GOODS: catalog's SKU (stored as Award.reference). */
  couponTemplateId?: string;
  skuId?: string;
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

const int = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
const isId = (v: unknown) => typeof v === "string" && v.trim().length > 0 && v.length <= 64;

/** What an award hands over besides points: the coupon template (COUPON) or the SKU (GOODS). */
function referenceOf(a: AwardDef): string | null {
  if (a.kind === "COUPON") return defined(a.couponTemplateId, `coupon template of award ${a.name}`);
  if (a.kind === "GOODS") return defined(a.skuId, `SKU of award ${a.name}`);
  return null;
}

function rateSlots(rate: string, name: string): number {
  try {
    if (typeof rate !== "string" || !/^\d+(\.\d+)?$/.test(rate)) throw new RangeError("not a decimal");
    return slotsOf(rate);
  } catch {
    throw badInput(`rate of ${name} must be a decimal between 0 and 1 with at most 4 decimals`, { field: "rate" });
  }
}

/** Checks a strategy definition; throws BAD_USER_INPUT before anything is written. */
export function validateStrategy(def: StrategyDef): void {
  if (!def.name?.trim() || def.name.length > 100) throw badInput("name must be 1 to 100 characters", { field: "name" });
  if (!def.awards?.length || def.awards.length > 100) throw badInput("a strategy needs 1 to 100 awards", { field: "awards" });
  const slots = new Map<string, number>();
  for (const a of def.awards) {
    if (!a.name?.trim() || a.name.length > 100) throw badInput("award names must be 1 to 100 characters", { field: "awards" });
    if (slots.has(a.name)) throw badInput(`award ${a.name} appears twice`, { field: "awards" });
    slots.set(a.name, rateSlots(a.rate, a.name));
    if (a.points !== undefined && a.points !== null && !int(a.points, 0))
      throw badInput(`points of ${a.name} must be a non-negative integer`, { field: "points" });
    if (a.kind === "POINTS" && !int(a.points, 1)) throw badInput(`POINTS award ${a.name} needs points > 0`, { field: "points" });
    if (a.kind === "COUPON" && !isId(a.couponTemplateId))
      throw badInput(`COUPON award ${a.name} needs a couponTemplateId`, { field: "couponTemplateId" });
    if (a.kind === "GOODS" && !isId(a.skuId)) throw badInput(`GOODS award ${a.name} needs a skuId`, { field: "skuId" });
    if (a.stock !== undefined && a.stock !== null && !int(a.stock, -1))
      throw badInput(`stock of ${a.name} must be -1 (unlimited) or ≥ 0`, { field: "stock" });
    if (a.lockAfterDraws !== undefined && a.lockAfterDraws !== null && !int(a.lockAfterDraws, 0))
      throw badInput(`lockAfterDraws of ${a.name} must be ≥ 0`, { field: "lockAfterDraws" });
  }
  const total = [...slots.values()].reduce((s, x) => s + x, 0);
  if (total !== TABLE_SCALE)
    throw badInput(`award rates must sum to 1 (they sum to ${new Decimal(total).div(TABLE_SCALE)})`, { field: "rate" });
  for (const n of [def.fallback, def.blacklistAward, ...(def.weightRules ?? []).flatMap((w) => w.awards)])
    if (n && !slots.has(n)) throw badInput(`unknown award ${n}`);
  const fallback = def.awards.find((a) => a.name === def.fallback);
  if (!fallback) throw badInput("a fallback award is required", { field: "fallback" });
  if ((fallback.stock ?? -1) !== -1 || (fallback.lockAfterDraws ?? 0) !== 0)
    throw badInput("the fallback award must have unlimited stock and no lock", { field: "fallback" });
  const thresholds = new Set<number>();
  for (const w of def.weightRules ?? []) {
    if (!int(w.minPointsSpent, 1) || thresholds.has(w.minPointsSpent))
      throw badInput("weight rule thresholds must be distinct positive integers", { field: "weightRules" });
    thresholds.add(w.minPointsSpent);
    if (w.awards.reduce((s, n) => s + defined(slots.get(n), `slots of award ${n}`), 0) === 0)
      throw badInput("a weight rule needs at least one award with a positive rate", { field: "weightRules" });
  }
}

export type StrategyWithAwards = Strategy & { awards: Award[] };

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

export interface LotterySetupDeps {
  prisma: PrismaClient;
  /** A strategy was saved: its cached draw table is stale (DrawService.disarm). */
  onStrategySaved?: (strategyId: string) => void;
}

export class LotterySetup {
  constructor(private readonly d: LotterySetupDeps) {}

  /** Validates and saves a strategy; the draw table cached for it is dropped (the next draw loads the new one). */
  async saveStrategy(def: StrategyDef): Promise<StrategyWithAwards> {
    validateStrategy(def);
    const saved = await this.d.prisma.$transaction(async (tx) => {
      let strategy = await tx.strategy.upsert({ where: { name: def.name }, create: { name: def.name, fallbackAwardId: "" }, update: {} });
      const byName = new Map<string, Award>();
      const awardNamed = (name: string) => defined(byName.get(name), `award ${name}`);
      for (const [i, a] of def.awards.entries()) {
        const stock = a.stock ?? -1;
        const data = {
          kind: a.kind,
          points: a.points ?? 0,
          reference: referenceOf(a),
          rate: a.rate,
          lockAfterDraws: a.lockAfterDraws ?? 0,
          sortOrder: i,
        };
        const row = await tx.award.upsert({
          where: { strategyId_name: { strategyId: strategy.id, name: a.name } },
          create: { strategyId: strategy.id, name: a.name, stockTotal: stock, stock, ...data },
          update: data,
        });
        byName.set(a.name, row);
      }
      // Awards left out of a changed strategy can no longer be won (kept: orders refer to them).
      await tx.award.updateMany({ where: { strategyId: strategy.id, name: { notIn: [...byName.keys()] } }, data: { rate: "0" } });
      strategy = await tx.strategy.update({
        where: { id: strategy.id },
        data: {
          fallbackAwardId: awardNamed(def.fallback).id,
          blacklistAwardId: def.blacklistAward ? awardNamed(def.blacklistAward).id : null,
          weightRules: (def.weightRules ?? []).map((w) => ({
            minPointsSpent: w.minPointsSpent,
            awardIds: w.awards.map((n) => awardNamed(n).id),
          })),
        },
      });
      for (const memberId of def.blacklist ?? [])
        await tx.strategyBlacklist.upsert({
          where: { strategyId_memberId: { strategyId: strategy.id, memberId } },
          create: { strategyId: strategy.id, memberId },
          update: {},
        });
      return { ...strategy, awards: [...byName.values()] };
    });
    this.d.onStrategySaved?.(saved.id);
    return saved;
  }

  /** Operators: members off a strategy's blacklist (draws read the blacklist every time); answers the strategy. */
  async removeFromBlacklist(strategyId: string, memberIds: string[]): Promise<StrategyWithAwards> {
    if (
      !Array.isArray(memberIds) ||
      memberIds.length < 1 ||
      memberIds.length > 500 ||
      memberIds.some((m) => typeof m !== "string" || !m.trim() || m.length > 64)
    ) {
      throw badInput("memberIds must list 1 to 500 member ids", { field: "memberIds" });
    }
    const strategy = await this.d.prisma.strategy.findUnique({
      where: { id: strategyId },
      include: { awards: { orderBy: { sortOrder: "asc" } } },
    });
    if (!strategy) throw notFound("strategy", strategyId);
    await this.d.prisma.strategyBlacklist.deleteMany({ where: { strategyId, memberId: { in: memberIds } } });
    return strategy;
  }

  /** Operators: the degrade switch and the draws-per-second limit (draws read the activity every time). */
  async setSwitches(activityId: string, s: { degraded?: boolean; drawsPerSecond?: number }): Promise<Activity> {
    if (s.drawsPerSecond !== undefined && (!int(s.drawsPerSecond, 0) || s.drawsPerSecond > 1_000_000))
      throw badInput("drawsPerSecond must be 0 (no limit) to 1,000,000", { field: "drawsPerSecond" });
    if (!(await this.d.prisma.activity.findUnique({ where: { id: activityId }, select: { id: true } })))
      throw notFound("activity", activityId);
    return this.d.prisma.activity.update({ where: { id: activityId }, data: s });
  }

  /** Validates and saves an activity (upserted by name). */
  async saveActivity(def: ActivityDef): Promise<Activity> {
    if (!def.name?.trim() || def.name.length > 100) throw badInput("name must be 1 to 100 characters", { field: "name" });
    if (Number.isNaN(def.startsAt.getTime()) || Number.isNaN(def.endsAt.getTime()))
      throw badInput("startsAt and endsAt must be ISO-8601 times");
    if (def.endsAt <= def.startsAt) throw badInput("endsAt must be after startsAt", { field: "endsAt" });
    for (const f of ["quotaTotal", "quotaMonth", "quotaDay", "pointsPerDraw"] as const)
      if (def[f] !== undefined && def[f] !== null && !int(def[f], 0)) throw badInput(`${f} must be a non-negative integer`, { field: f });
    if (!(await this.d.prisma.strategy.findUnique({ where: { id: def.strategyId }, select: { id: true } })))
      throw badInput("unknown strategy", { field: "strategyId" });
    const data = {
      strategyId: def.strategyId,
      startsAt: def.startsAt,
      endsAt: def.endsAt,
      state: def.state ?? "ONLINE",
      quotaTotal: def.quotaTotal ?? 0,
      quotaMonth: def.quotaMonth ?? 0,
      quotaDay: def.quotaDay ?? 0,
      pointsPerDraw: def.pointsPerDraw ?? 0,
    };
    return this.d.prisma.activity.upsert({ where: { name: def.name }, create: { name: def.name, ...data }, update: data });
  }
}
