/**
 * Coupons of the templates (coupon-templates.ts): claims with the total quantity and the per-user
 * limit enforced atomically in PostgreSQL (one transaction: a conditional upsert of the member's claim count, a conditional UPDATE of the template's issued
 * count, the coupon row), and the order-side lock / release / consume (conditional UPDATEs,
 * idempotent per order).
 */
import { randomUUID } from "node:crypto";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { badInput, notFound } from "@mallgraph/platform/errors";
import { currencyDecimals, formatAmount, parseAmount } from "@mallgraph/platform/money";
import type { Coupon, CouponTemplate, PrismaClient } from "../generated/prisma/client.ts";
import { couponOff, fromMinor, toMinor, type CouponRule } from "./pricing.ts";
import { parseTime } from "./time.ts";

export const CouponCode = {
  OK: "OK",
  SOLD_OUT: "SOLD_OUT",
  LIMIT_REACHED: "LIMIT_REACHED",
  NOT_CLAIMABLE: "NOT_CLAIMABLE",
  EXPIRED: "EXPIRED",
  COUPON_UNAVAILABLE: "COUPON_UNAVAILABLE",
} as const;
/** What claimCoupon answers (the schema's ClaimCouponResultCode). */
export type ClaimCode = Exclude<(typeof CouponCode)[keyof typeof CouponCode], "COUPON_UNAVAILABLE">;

const DAY_MS = 24 * 3600 * 1000;

export type CouponWithTemplate = Coupon & { template: CouponTemplate };

export interface ClaimOutcome {
  code: ClaimCode;
  coupon: CouponWithTemplate | null;
}

export interface LockInput {
  memberId: string;
  couponId: string;
  orderId: string;
  currency: string;
  /** What the order's quote (promotionPrice with this coupon) takes off with it. */
  discount: string;
}

export interface LockOutcome {
  code: string;
  discount: string;
  reason: string | null;
}

class Refusal extends Error {
  constructor(readonly code: ClaimCode) {
    super(code);
  }
}

export class CouponService {
  constructor(private readonly d: { prisma: PrismaClient }) {}

  /** A member claims one coupon. NEW_USER templates are issued by couponIssueNewUser only. */
  async claim(memberId: string, templateId: string, opts: { allowNewUser?: boolean; issueKey?: string } = {}): Promise<ClaimOutcome> {
    if (typeof templateId !== "string" || !templateId || templateId.length > 64)
      throw badInput("templateId must be a non-empty id", { field: "templateId" });
    if (opts.issueKey) {
      const done = await this.byIssueKey(opts.issueKey);
      if (done) return { code: CouponCode.OK, coupon: done };
    }
    const t = await this.d.prisma.couponTemplate.findUnique({ where: { id: templateId } });
    if (!t) throw notFound("coupon template", templateId);
    if (!t.active || (t.type === "NEW_USER" && !opts.allowNewUser)) return { code: CouponCode.NOT_CLAIMABLE, coupon: null };
    const now = new Date();
    if (t.validTo && t.validTo.getTime() <= now.getTime()) return { code: CouponCode.EXPIRED, coupon: null };
    const validFrom = t.validFrom ?? now;
    const validTo = t.validTo ?? new Date(now.getTime() + (t.validDays ?? 1) * DAY_MS);
    try {
      const coupon = await this.d.prisma.$transaction(async (tx) => {
        // the member's count first (row per member+template), then the template's (hot row, held briefly)
        const mine = await tx.$queryRaw<Array<{ count: number }>>`
          INSERT INTO "CouponClaimCount" ("templateId", "memberId", "count") VALUES (${t.id}, ${memberId}, 1)
          ON CONFLICT ("templateId", "memberId") DO UPDATE SET "count" = "CouponClaimCount"."count" + 1
          WHERE "CouponClaimCount"."count" < ${t.type === "NEW_USER" ? 1 : t.perUserLimit}::int
          RETURNING "count"`;
        if (!mine.length) throw new Refusal(CouponCode.LIMIT_REACHED);
        const taken = await tx.$executeRaw`
          UPDATE "CouponTemplate" SET "issuedCount" = "issuedCount" + 1 WHERE "id" = ${t.id} AND "active" AND "issuedCount" < "totalQuantity"`;
        if (taken !== 1) throw new Refusal(CouponCode.SOLD_OUT);
        return tx.coupon.create({
          data: { id: randomUUID(), templateId: t.id, memberId, validFrom, validTo, issueKey: opts.issueKey ?? null },
          include: { template: true },
        });
      });
      return { code: CouponCode.OK, coupon };
    } catch (e) {
      if (e instanceof Refusal) return { code: e.code, coupon: null };
      if (opts.issueKey && isUniqueViolation(e)) {
        // a concurrent grant under the same key won (this transaction rolled back entirely)
        const done = await this.byIssueKey(opts.issueKey);
        if (done) return { code: CouponCode.OK, coupon: done };
      }
      throw e;
    }
  }

  private byIssueKey(issueKey: string) {
    return this.d.prisma.coupon.findUnique({ where: { issueKey }, include: { template: true } });
  }

  /**
   * Internal grant (lottery awards, scheduled issuance): one coupon of any active template,
   * NEW_USER included, within the total and per-user limits; idempotent per `reference`.
   */
  async grant(memberId: string, templateId: string, reference: string): Promise<ClaimOutcome> {
    if (typeof memberId !== "string" || !memberId || memberId.length > 64)
      throw badInput("memberId must be a non-empty id", { field: "memberId" });
    if (typeof reference !== "string" || !reference.trim() || reference.length > 150)
      throw badInput("reference must be 1..150 characters", { field: "reference" });
    const r = await this.claim(memberId, templateId, { allowNewUser: true, issueKey: `grant:${reference}` });
    if (r.coupon && r.coupon.memberId !== memberId) throw badInput("reference was used for another member", { field: "reference" });
    return r;
  }

  /** Validates and describes a scheduled issuance (the job runs `issueBatch`). */
  async prepareIssuance(
    templateId: string,
    memberIds: string[],
    at: string | null | undefined,
  ): Promise<{ templateId: string; memberIds: string[]; runAt: Date }> {
    if (typeof templateId !== "string" || !templateId || templateId.length > 64)
      throw badInput("templateId must be a non-empty id", { field: "templateId" });
    const ids = [...new Set(memberIds ?? [])];
    if (!ids.length || ids.length > 10_000 || ids.some((m) => typeof m !== "string" || !m || m.length > 64))
      throw badInput("1..10000 member ids", { field: "memberIds" });
    const runAt = at != null ? parseTime(at, "at") : new Date();
    const t = await this.d.prisma.couponTemplate.findUnique({ where: { id: templateId }, select: { id: true, active: true } });
    if (!t) throw notFound("coupon template", templateId);
    return { templateId, memberIds: ids, runAt };
  }

  /** The `issue` job: grants under `<batchId>:<memberId>` (a retried job issues nothing twice). */
  async issueBatch(batchId: string, templateId: string, memberIds: string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const m of memberIds) {
      const r = await this.grant(m, templateId, `${batchId}:${m}`);
      out[r.code] = (out[r.code] ?? 0) + 1;
    }
    return out;
  }

  /**
   * The member's usable coupon that saves the most on an order of `itemsTotal` (null: none applies).
   * A one-figure estimate (scope by the given SPU / category ids); Cart.pricing / applicableCoupons
   * price real lines.
   */
  async best(
    memberId: string,
    itemsTotal: string,
    currency: string,
    spuIds: string[] = [],
    categoryIds: string[] = [],
  ): Promise<{ coupon: CouponWithTemplate; discount: string } | null> {
    const digits = currencyDecimals(currency);
    const total = toMinor(parseAmount(itemsTotal, currency, { field: "itemsTotal", allowZero: true }).toFixed(), digits);
    const now = new Date();
    const coupons = await this.d.prisma.coupon.findMany({
      where: { memberId, status: "UNUSED", validFrom: { lte: now }, validTo: { gt: now }, template: { currency } },
      include: { template: true },
    });
    let best: { coupon: CouponWithTemplate; off: bigint } | null = null;
    for (const c of coupons) {
      const t = c.template;
      if (t.scope === "SPUS" && !spuIds.some((s) => t.scopeIds.includes(s))) continue;
      if (t.scope === "CATEGORIES" && !categoryIds.some((s) => t.scopeIds.includes(s))) continue;
      const off = couponOff(couponRule(c), total, digits);
      if (off > 0n && (!best || off > best.off || (off === best.off && c.validTo < best.coupon.validTo))) best = { coupon: c, off };
    }
    return best ? { coupon: best.coupon, discount: fromMinor(best.off, digits) } : null;
  }

  /**
   * Registration: one coupon of every active NEW_USER template, idempotent per member and template
   * (the claim count row allows one, atomically, and the coupon's issue key is
   * `new-user:<memberId>:<templateId>`), so a retried or re-delivered job grants nothing twice.
   */
  async issueNewUser(memberId: string): Promise<number> {
    if (typeof memberId !== "string" || !memberId || memberId.length > 64)
      throw badInput("memberId must be a non-empty id", { field: "memberId" });
    const ts = await this.d.prisma.couponTemplate.findMany({ where: { type: "NEW_USER", active: true }, select: { id: true } });
    let n = 0;
    for (const t of ts) {
      const held = await this.d.prisma.couponClaimCount.findUnique({ where: { templateId_memberId: { templateId: t.id, memberId } } });
      if (held) continue;
      if ((await this.claim(memberId, t.id, { allowNewUser: true, issueKey: newUserIssueKey(memberId, t.id) })).code === CouponCode.OK) n++;
    }
    return n;
  }

  /** Coupons by id, in the order of `ids` (null for unknown ids). */
  async getMany(ids: readonly string[]): Promise<Array<CouponWithTemplate | null>> {
    const rows = await this.d.prisma.coupon.findMany({ where: { id: { in: [...ids] } }, include: { template: true } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  mine(memberId: string) {
    return this.d.prisma.coupon.findMany({
      where: { memberId },
      include: { template: true },
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
      take: 200,
    });
  }

  /**
   * Locks the member's coupon for an order (internal, order's placeOrder workflow). Idempotent per
   * orderId: locking again for the same order answers OK with the same discount.
   */
  async lock(input: LockInput): Promise<LockOutcome> {
    const refuse = (reason: string): LockOutcome => ({ code: CouponCode.COUPON_UNAVAILABLE, discount: "0", reason });
    for (const [f, v] of [
      ["memberId", input.memberId],
      ["couponId", input.couponId],
      ["orderId", input.orderId],
    ] as const)
      if (typeof v !== "string" || !v || v.length > 64) throw badInput(`${f} must be a non-empty id`, { field: f });
    const off = parseAmount(input.discount, input.currency, { field: "discount" });
    const c = await this.d.prisma.coupon.findUnique({ where: { id: input.couponId }, include: { template: true } });
    if (!c || c.memberId !== input.memberId) return refuse("NOT_FOUND");
    if (c.status === "LOCKED" && c.orderId === input.orderId)
      return { code: CouponCode.OK, discount: formatAmount(c.discount ?? 0, c.template.currency), reason: null };
    if (c.status !== "UNUSED") return refuse(c.status === "USED" ? "USED" : "LOCKED");
    const now = Date.now();
    if (c.validFrom.getTime() > now) return refuse("NOT_YET_VALID");
    if (c.validTo.getTime() <= now) return refuse("EXPIRED");
    if (input.currency !== c.template.currency) return refuse("CURRENCY");
    const t = c.template;
    const changed = await this.d.prisma.coupon
      .updateMany({
        where: { id: c.id, status: "UNUSED" },
        data: { status: "LOCKED", orderId: input.orderId, discount: off.toFixed(), lockedAt: new Date() },
      })
      .catch((e) => {
        if (isUniqueViolation(e)) return { count: 0 }; // the order already holds another coupon
        throw e;
      });
    if (changed.count !== 1) {
      const again = await this.d.prisma.coupon.findUnique({ where: { id: c.id } });
      if (again?.status === "LOCKED" && again.orderId === input.orderId)
        return { code: CouponCode.OK, discount: formatAmount(again.discount ?? 0, t.currency), reason: null };
      return refuse(again?.orderId === input.orderId || !again || again.status === "UNUSED" ? "ORDER_HAS_COUPON" : "LOCKED");
    }
    return { code: CouponCode.OK, discount: formatAmount(off, t.currency), reason: null };
  }

  /** The order was cancelled / timed out: its coupon is usable again. Idempotent. */
  async release(orderId: string): Promise<boolean> {
    if (typeof orderId !== "string" || !orderId) throw badInput("orderId is required", { field: "orderId" });
    await this.d.prisma.coupon.updateMany({
      where: { orderId, status: "LOCKED" },
      data: { status: "UNUSED", orderId: null, discount: null, lockedAt: null },
    });
    return true;
  }

  /** The order was paid: its coupon is used. Idempotent; false when the order holds no coupon. */
  async consume(orderId: string): Promise<boolean> {
    if (typeof orderId !== "string" || !orderId) throw badInput("orderId is required", { field: "orderId" });
    await this.d.prisma.coupon.updateMany({ where: { orderId, status: "LOCKED" }, data: { status: "USED", usedAt: new Date() } });
    return (await this.d.prisma.coupon.count({ where: { orderId, status: "USED" } })) === 1;
  }
}

/** A coupon row as the pricing function's rule. */
export function couponRule(c: CouponWithTemplate): CouponRule {
  const t = c.template;
  const money = (v: { toString(): string } | null) => (v == null ? null : formatAmount(v, t.currency));
  return {
    couponId: c.id,
    name: t.name,
    type: t.type,
    currency: t.currency,
    threshold: formatAmount(t.threshold, t.currency),
    amount: money(t.amount),
    rate: t.rate?.toString() ?? null,
    cap: money(t.cap),
    scope: t.scope,
    scopeIds: t.scopeIds,
    status: c.status,
    validFrom: c.validFrom,
    validTo: c.validTo,
  };
}

/** Status shown to the member: UNUSED past its validity reads EXPIRED. */
export function displayStatus(c: Coupon, now = Date.now()): string {
  return c.status === "UNUSED" && c.validTo.getTime() <= now ? "EXPIRED" : c.status;
}

/** The issue key of a member's NEW_USER coupon of a template (one per member and template). */
export const newUserIssueKey = (memberId: string, templateId: string) => `new-user:${memberId}:${templateId}`;
