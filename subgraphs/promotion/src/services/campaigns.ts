/**
 * Full-reduction campaigns ("满300减40, 满500减80"): operators create, list and end them; the pricing
 * function (services/pricing.ts) applies the live ones. A campaign is live while
 * startsAt <= now < endsAt and not ended early (endedAt).
 */
import { randomUUID } from "node:crypto";
import { AppError, badInput, notFound } from "@mallgraph/platform/errors";
import { logger } from "@mallgraph/platform/log";
import { currencyDecimals, parseAmount } from "@mallgraph/platform/money";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import { isRedisError, keyFor, type Redis } from "@mallgraph/platform/redis";
import { PromotionErrorCode } from "../errors.ts";
import type { FullReductionCampaign, Prisma, PrismaClient } from "../generated/prisma/client.ts";
import type { CatalogPort } from "./ports.ts";
import type { CampaignRule, CampaignTier } from "./pricing.ts";
import { checkScope, type ScopeKind } from "./scopes.ts";
import { parseTime } from "./time.ts";

export const MAX_TIERS = 10;
/** The instants a cached read of the live campaigns holds for: a second before it, ten after (decision 0052). */
const LIVE_WINDOW_BEFORE_MS = 1000;
const LIVE_WINDOW_MS = 10_000;
/** More campaigns than this in a window: every quote reads its own (no cache). */
const LIVE_CACHE_MAX_ROWS = 1000;
const log = logger("promotion");
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
  /**
   * The process's last read of the campaigns live in a window of time, filed under the campaigns'
   * version it was read at (decision 0052); `rows` null: too many to hold.
   */
  private window: { version: string; from: number; until: number; rows: Promise<FullReductionCampaign[] | null> } | null = null;
  /** The version counter's connection and key; null: no cache. */
  private readonly versions: { redis: Redis; key: string } | null;

  /**
   * `sql`: plain SQL on the Prisma client's pool, for the read every quote makes (decision 0035).
   * `versions`: the Redis connection and key prefix of the campaigns' version counter; without it,
   * every read goes to the database.
   */
  constructor(private readonly d: { prisma: PrismaClient; sql: PgSql; catalog: CatalogPort; versions?: { redis: Redis; prefix: string } }) {
    this.versions = d.versions ? { redis: d.versions.redis, key: keyFor(d.versions.prefix, "promotion")("campaigns", "v") } : null;
  }

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
    const created = await this.d.prisma.fullReductionCampaign.create({
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
    await this.changed();
    return created;
  }

  /**
   * Campaigns live at `now`, oldest first (the order the pricing function breaks ties in), at most
   * 200. Served from the process's last read while the campaigns' version in Redis is the one it was
   * read under and `now` is inside the window it covers (decision 0052); read again otherwise.
   */
  async live(now = new Date(), currency?: string): Promise<FullReductionCampaign[]> {
    // Redis unavailable: every call reads the database (the catalog's caches do the same)
    const cached = await this.cachedLive(now).catch((err: unknown) => {
      if (!isRedisError(err)) throw err;
      return null;
    });
    if (!cached) return this.liveRows(now, currency);
    const t = now.getTime();
    return cached
      .filter((c) => c.startsAt.getTime() <= t && c.endsAt.getTime() > t && (currency == null || c.currency === currency))
      .slice(0, 200);
  }

  /** Every campaign live at some instant of a window that holds `now` (read once per window and version), or null. */
  private async cachedLive(now: Date): Promise<FullReductionCampaign[] | null> {
    if (!this.versions) return null;
    // the version is read BEFORE the rows filed under it: a writer bumps it after its commit, so a read
    // that raced a write is filed under the version that write replaced, and no later read uses it
    const version = (await this.versions.redis.get(this.versions.key)) ?? "0";
    const t = now.getTime();
    let w = this.window;
    if (!w || w.version !== version || t < w.from || t > w.until) {
      const [from, until] = [t - LIVE_WINDOW_BEFORE_MS, t + LIVE_WINDOW_MS];
      const read = { version, from, until, rows: this.loadWindow(from, until) };
      read.rows.catch(() => {
        if (this.window === read) this.window = null;
      });
      this.window = w = read;
    }
    return w.rows;
  }

  /** The campaigns live at some instant of [from, until]; null when there are too many to hold. */
  private async loadWindow(from: number, until: number): Promise<FullReductionCampaign[] | null> {
    const rows = await this.d.sql.$queryRawUnsafe<FullReductionCampaign[]>(
      `SELECT * FROM "FullReductionCampaign"
       WHERE "endedAt" IS NULL AND "startsAt" <= $2::timestamp AND "endsAt" > $1::timestamp
       ORDER BY "createdAt", "id" LIMIT ${LIVE_CACHE_MAX_ROWS + 1}`,
      new Date(from).toISOString(),
      new Date(until).toISOString(),
    );
    return rows.length > LIVE_CACHE_MAX_ROWS ? null : rows.map(prismaShape);
  }

  /** The live campaigns read from the database (no cache). */
  private async liveRows(now: Date, currency?: string): Promise<FullReductionCampaign[]> {
    const rows = await this.d.sql.$queryRawUnsafe<FullReductionCampaign[]>(
      `SELECT * FROM "FullReductionCampaign"
       WHERE "endedAt" IS NULL AND "startsAt" <= $1::timestamp AND "endsAt" > $1::timestamp AND ($2::text IS NULL OR "currency" = $2)
       ORDER BY "createdAt", "id" LIMIT 200`,
      now.toISOString(),
      currency ?? null,
    );
    return rows.map(prismaShape);
  }

  /** After a write committed: every process's cached read is stale (a failed bump is stale for one window at most). */
  private async changed(): Promise<void> {
    if (!this.versions) return;
    this.window = null;
    await this.versions.redis.incr(this.versions.key).catch((err: unknown) => {
      log.warn({ err }, "could not bump the campaigns' version; other processes see the change within 10 s");
    });
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
    if (r.count) await this.changed();
    const c = await this.d.prisma.fullReductionCampaign.findUnique({ where: { id } });
    if (!c) throw notFound("campaign", id);
    if (!r.count && campaignStatus(c, now) !== "ENDED")
      throw new AppError(PromotionErrorCode.INVALID_STATE, "the campaign could not be ended");
    return c;
  }
}

/**
 * A row as Prisma reads it: text[] and jsonb parsed, timestamps as UTC instants, and a NULL list as []
 * (the column is nullable; Prisma never answers null for a String[], pg does).
 */
function prismaShape(r: FullReductionCampaign): FullReductionCampaign {
  return r.scopeIds ? r : { ...r, scopeIds: [] };
}
