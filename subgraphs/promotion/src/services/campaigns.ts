/**
 * Full-reduction campaigns ("满300减40, 满500减80"): operators create, list and end them; the pricing
 * function (services/pricing.ts) applies the live ones. A campaign is live while
 * startsAt <= now < endsAt and not ended early (endedAt).
 */
import { randomUUID } from "node:crypto";
import { AppError, badInput, notFound } from "@mallgraph/platform/errors";
import { currencyDecimals, parseAmount } from "@mallgraph/platform/money";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import { PromotionErrorCode } from "../errors.ts";
import type { FullReductionCampaign, Prisma, PrismaClient } from "../generated/prisma/client.ts";
import type { CatalogPort } from "./ports.ts";
import type { CampaignRule, CampaignTier } from "./pricing.ts";
import { checkScope, type ScopeKind } from "./scopes.ts";
import { parseTime } from "./time.ts";

export const MAX_TIERS = 10;
const MAX_CAMPAIGN_MS = 366 * 24 * 3600 * 1000;

export type CampaignStatus = "SCHEDULED" | "ACTIVE" | "ENDED";

export interface CampaignInput {
  name: string;
  currency: string;
  scope?: ScopeKind | null;
  scopeIds?: string[] | null;
  tiers: Array<{ threshold: string; amount: string }>;
  startsAt: string;
  endsAt: string;
  stackableWithCoupons?: boolean | null;
}

export function campaignStatus(c: Pick<FullReductionCampaign, "startsAt" | "endsAt" | "endedAt">, now = new Date()): CampaignStatus {
  if (c.endedAt || c.endsAt.getTime() <= now.getTime()) return "ENDED";
  return c.startsAt.getTime() > now.getTime() ? "SCHEDULED" : "ACTIVE";
}

export function campaignTiers(c: FullReductionCampaign): CampaignTier[] {
  return c.tiers as unknown as CampaignTier[];
}

/** The row as the pricing function's rule. */
export function campaignRule(c: FullReductionCampaign): CampaignRule {
  return {
    id: c.id,
    name: c.name,
    currency: c.currency,
    scope: c.scope,
    scopeIds: c.scopeIds,
    tiers: campaignTiers(c),
    stackableWithCoupons: c.stackableWithCoupons,
    startsAt: c.startsAt,
    endsAt: c.endsAt,
    endedAt: c.endedAt,
  };
}

/** Tiers in order: thresholds and amounts strictly ascending, each amount below its threshold. */
function checkTiers(tiers: CampaignInput["tiers"], currency: string): CampaignTier[] {
  if (!Array.isArray(tiers) || !tiers.length || tiers.length > MAX_TIERS) throw badInput(`1..${MAX_TIERS} tiers`, { field: "tiers" });
  const digits = currencyDecimals(currency);
  const out = tiers.map((t, i) => ({
    threshold: parseAmount(t.threshold, currency, { field: `tiers[${i}].threshold` }),
    amount: parseAmount(t.amount, currency, { field: `tiers[${i}].amount` }),
  }));
  out.forEach((t, i) => {
    if (!t.amount.lt(t.threshold))
      throw badInput(`tier ${i + 1}: the amount must be below its threshold`, {
        field: `tiers[${i}].amount`,
        reason: "TIER_AMOUNT_NOT_BELOW_THRESHOLD",
      });
    const prev = out[i - 1];
    if (prev && (!t.threshold.gt(prev.threshold) || !t.amount.gt(prev.amount)))
      throw badInput(`tier ${i + 1}: thresholds and amounts must ascend`, { field: `tiers[${i}]`, reason: "TIERS_OUT_OF_ORDER" });
  });
  return out.map((t) => ({ threshold: t.threshold.toFixed(digits), amount: t.amount.toFixed(digits) }));
}

export class CampaignService {
  /** `sql`: plain SQL on the Prisma client's pool, for the read every quote makes (decision 0035). */
  constructor(private readonly d: { prisma: PrismaClient; sql: PgSql; catalog: CatalogPort }) {}

  async create(input: CampaignInput, operatorId: string | null): Promise<FullReductionCampaign> {
    const name = typeof input.name === "string" ? input.name.trim() : "";
    if (!name || name.length > 100) throw badInput("name is required (at most 100 characters)", { field: "name" });
    currencyDecimals(input.currency); // BAD_USER_INPUT for an unknown currency
    const tiers = checkTiers(input.tiers, input.currency);
    const startsAt = parseTime(input.startsAt, "startsAt");
    const endsAt = parseTime(input.endsAt, "endsAt");
    if (endsAt <= startsAt) throw badInput("endsAt must be after startsAt", { field: "endsAt" });
    if (endsAt.getTime() <= Date.now()) throw badInput("endsAt must be in the future", { field: "endsAt" });
    if (endsAt.getTime() - startsAt.getTime() > MAX_CAMPAIGN_MS) throw badInput("a campaign lasts at most 366 days", { field: "endsAt" });
    const { scope, scopeIds } = await checkScope(this.d.catalog, input.scope, input.scopeIds, input.currency);
    return this.d.prisma.fullReductionCampaign.create({
      data: {
        id: randomUUID(),
        name,
        currency: input.currency,
        scope,
        scopeIds,
        tiers: tiers as unknown as Prisma.InputJsonValue,
        startsAt,
        endsAt,
        stackableWithCoupons: input.stackableWithCoupons ?? true,
        createdBy: operatorId,
      },
    });
  }

  /** Campaigns live now, oldest first (the order the pricing function breaks ties in). */
  async live(now = new Date(), currency?: string): Promise<FullReductionCampaign[]> {
    // the rows as Prisma reads them: text[] and jsonb parsed, timestamps as UTC instants, and a NULL
    // list as [] (the column is nullable; Prisma never answers null for a String[], pg does)
    const rows = await this.d.sql.$queryRawUnsafe<FullReductionCampaign[]>(
      `SELECT * FROM "FullReductionCampaign"
       WHERE "endedAt" IS NULL AND "startsAt" <= $1::timestamp AND "endsAt" > $1::timestamp AND ($2::text IS NULL OR "currency" = $2)
       ORDER BY "createdAt", "id" LIMIT 200`,
      now.toISOString(),
      currency ?? null,
    );
    return rows.map((r) => (r.scopeIds ? r : { ...r, scopeIds: [] }));
  }

  /** Operators: newest first, optionally by status. */
  list(status?: CampaignStatus | null, now = new Date()): Promise<FullReductionCampaign[]> {
    const where =
      status === "ACTIVE"
        ? { endedAt: null, startsAt: { lte: now }, endsAt: { gt: now } }
        : status === "SCHEDULED"
          ? { endedAt: null, startsAt: { gt: now } }
          : status === "ENDED"
            ? { OR: [{ endedAt: { not: null } }, { endsAt: { lte: now } }] }
            : {};
    return this.d.prisma.fullReductionCampaign.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "asc" }], take: 200 });
  }

  /** Ends a campaign now; ending an ended one changes nothing. */
  async end(id: string): Promise<FullReductionCampaign> {
    if (typeof id !== "string" || !id || id.length > 64) throw badInput("id must be a non-empty id", { field: "id" });
    const now = new Date();
    const r = await this.d.prisma.fullReductionCampaign.updateMany({
      where: { id, endedAt: null, endsAt: { gt: now } },
      data: { endedAt: now },
    });
    const c = await this.d.prisma.fullReductionCampaign.findUnique({ where: { id } });
    if (!c) throw notFound("campaign", id);
    if (!r.count && campaignStatus(c, now) !== "ENDED")
      throw new AppError(PromotionErrorCode.INVALID_STATE, "the campaign could not be ended");
    return c;
  }
}
