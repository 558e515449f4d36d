/**
 * Activity SKUs: packs of bonus draws sold for points, with a stock (big-market's activity SKU).
 * Buying one is ONE SQL statement — take the points, take one unit of stock, write the ledger entry
 * and the purchase, add the draws to the member's quota — so it is atomic without an interactive
 * transaction (nothing to queue for under a storm):
 * - stock and balance are guarded by CHECK constraints (never below zero): a purchase that would take
 *   either below aborts whole (SOLD_OUT / INSUFFICIENT_POINTS, nothing written);
 * - the purchase is unique per (member, SKU, idempotency key): a replay aborts whole and answers OK
 *   with what the first one did.
 */
import { randomUUID } from "node:crypto";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { badInput, notFound, defined } from "@mallgraph/platform/errors";
import { PackCode } from "../errors.ts";
import { Prisma, type PrismaClient, type ActivitySku, type PointsAccount } from "../generated/prisma/client.ts";
import type { DrawService } from "./draws.ts";
import type { PointsService } from "./points.ts";

export interface PackDef {
  activityId: string;
  name: string;
  draws: number;
  pricePoints: number;
  /** Packs for sale (set when the SKU is created; saving again leaves the stock alone). */
  stock: number;
}

export interface PackOutcome {
  code: PackCode;
  bonusDraws: number;
  account: PointsAccount;
}

const positive = (v: unknown, max: number) => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= max;

/** The CHECK constraint a raw statement broke (PostgreSQL 23514), if any. */
function brokenCheck(e: unknown): string | null {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError)) return null;
  const text = `${e.message} ${JSON.stringify(e.meta ?? {})}`;
  if (!text.includes("23514") && !text.includes("check constraint")) return null;
  return /ActivitySku_stock_check/.test(text) ? "stock" : /PointsAccount_balance_check/.test(text) ? "balance" : "other";
}

export class PackService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly points: PointsService,
    private readonly draws: DrawService,
  ) {}

  /** Operators: creates or updates a pack by (activity, name). */
  async save(def: PackDef): Promise<ActivitySku> {
    if (!def.name?.trim() || def.name.length > 100) throw badInput("name must be 1 to 100 characters", { field: "name" });
    if (!positive(def.draws, 1000)) throw badInput("draws must be 1 to 1000", { field: "draws" });
    if (!positive(def.pricePoints, 100_000_000)) throw badInput("pricePoints must be a positive integer", { field: "pricePoints" });
    if (!Number.isSafeInteger(def.stock) || def.stock < 0 || def.stock > 10_000_000)
      throw badInput("stock must be 0 to 10,000,000", { field: "stock" });
    if (!(await this.draws.activity(def.activityId))) throw badInput("unknown activity", { field: "activityId" });
    const data = { draws: def.draws, pricePoints: def.pricePoints };
    return this.prisma.activitySku.upsert({
      where: { activityId_name: { activityId: def.activityId, name: def.name } },
      create: { activityId: def.activityId, name: def.name, stockTotal: def.stock, stock: def.stock, ...data },
      update: data,
    });
  }

  list(activityId: string): Promise<ActivitySku[]> {
    return this.prisma.activitySku.findMany({ where: { activityId }, orderBy: { createdAt: "asc" } });
  }

  /** A member buys one pack: its draws are added to the bonus quota, exactly once per key. */
  async buy(memberId: string, skuId: string, idempotencyKey: string): Promise<PackOutcome> {
    if (!idempotencyKey || idempotencyKey.length > 100)
      throw badInput("idempotencyKey must be 1 to 100 characters", { field: "idempotencyKey" });
    const sku = await this.prisma.activitySku.findUnique({ where: { id: skuId } });
    if (!sku) throw notFound("activity SKU", skuId);
    const answer = async (code: PackCode): Promise<PackOutcome> => ({
      code,
      bonusDraws:
        (await this.prisma.quotaAccount.findUnique({ where: { activityId_memberId: { activityId: sku.activityId, memberId } } }))?.bonus ??
        0,
      account: await this.points.account(memberId),
    });
    const key = { memberId_skuId_idempotencyKey: { memberId, skuId, idempotencyKey } };
    if (await this.prisma.activitySkuPurchase.findUnique({ where: key, select: { id: true } })) return answer(PackCode.OK);
    const activity = await this.draws.activity(sku.activityId);
    if (!activity || !this.draws.isOnline(activity)) return answer(PackCode.NOT_ONLINE);
    if (sku.stock <= 0) return answer(PackCode.SOLD_OUT);
    try {
      const [r] = await this.prisma.$queryRaw<Array<{ sold: number }>>`
        WITH s AS (SELECT "pricePoints" FROM "ActivitySku" WHERE "id" = ${skuId}),
        pts AS (
          UPDATE "PointsAccount" p SET "balance" = p."balance" - s."pricePoints", "spent" = p."spent" + s."pricePoints", "updatedAt" = now()
          FROM s WHERE p."memberId" = ${memberId}
          RETURNING p."memberId"),
        sold AS (
          UPDATE "ActivitySku" k SET "stock" = k."stock" - 1
          WHERE k."id" = ${skuId} AND EXISTS (SELECT 1 FROM pts)
          RETURNING k."id", k."activityId", k."draws", k."pricePoints"),
        ledger AS (
          INSERT INTO "PointsLedger" ("id", "memberId", "delta", "reason", "reference")
          SELECT ${randomUUID()}, ${memberId}, -sold."pricePoints", 'draw-pack', ${`pack:${skuId}:${memberId}:${idempotencyKey}`} FROM sold
          RETURNING "id"),
        bought AS (
          INSERT INTO "ActivitySkuPurchase" ("id", "skuId", "memberId", "idempotencyKey", "draws", "points")
          SELECT ${randomUUID()}, sold."id", ${memberId}, ${idempotencyKey}, sold."draws", sold."pricePoints" FROM sold
          RETURNING "id"),
        quota AS (
          INSERT INTO "QuotaAccount" ("activityId", "memberId", "bonus")
          SELECT sold."activityId", ${memberId}, sold."draws" FROM sold
          ON CONFLICT ("activityId", "memberId") DO UPDATE SET "bonus" = "QuotaAccount"."bonus" + EXCLUDED."bonus"
          RETURNING "bonus")
        SELECT (SELECT count(*) FROM sold)::int AS "sold"`;
      // No points account at all: nothing was taken.
      return answer(defined(r, "the pack purchase row").sold === 1 ? PackCode.OK : PackCode.INSUFFICIENT_POINTS);
    } catch (e) {
      if (isUniqueViolation(e)) return answer(PackCode.OK);
      const check = brokenCheck(e);
      if (check === "stock") return answer(PackCode.SOLD_OUT);
      if (check === "balance") return answer(PackCode.INSUFFICIENT_POINTS);
      throw e;
    }
  }
}
