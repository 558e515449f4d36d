/**
 * Coupon templates (FULL_REDUCTION, DISCOUNT with cap, NO_THRESHOLD, NEW_USER): what operators
 * create, list, edit and switch on or off. Coupons themselves (claims, grants, the order-side lock)
 * are coupons.ts.
 */
import { randomUUID } from "node:crypto";
import { AppError, ErrorCode, badInput, notFound, defined } from "@mallgraph/platform/errors";
import { Decimal, currencyDecimals, parseAmount } from "@mallgraph/platform/money";
import type { CouponTemplate, PrismaClient } from "../generated/prisma/client.ts";
import type { CatalogPort, LotteryPort } from "./ports.ts";
import { checkScope, type ScopeKind } from "./scopes.ts";
import { parseTime } from "./time.ts";

const TYPES = ["FULL_REDUCTION", "DISCOUNT", "NO_THRESHOLD", "NEW_USER"] as const;

export interface CouponTemplateInput {
  name: string;
  type: (typeof TYPES)[number];
  currency: string;
  threshold?: string | null;
  amount?: string | null;
  rate?: string | null;
  cap?: string | null;
  scope?: ScopeKind | null;
  scopeIds?: string[] | null;
  validFrom?: string | null;
  validTo?: string | null;
  validDays?: number | null;
  totalQuantity: number;
  perUserLimit: number;
}

/** What an operator may change on a template: its name, its validity (in the mode it has), more quantity. */
export interface CouponTemplateUpdate {
  name?: string | null;
  validFrom?: string | null;
  validTo?: string | null;
  validDays?: number | null;
  totalQuantity?: number | null;
}

/** A template's name: trimmed, 1..100 characters. */
function checkName(value: unknown): string {
  const name = typeof value === "string" ? value.trim() : "";
  if (!name || name.length > 100) throw badInput("name is required (at most 100 characters)", { field: "name" });
  return name;
}

function checkValidDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw badInput("validDays must be an integer in 1..3650", { field: "validDays" });
  return days;
}

/** A fixed validity window: it ends after it starts, and in the future. */
function checkWindow(from: Date, to: Date): void {
  if (to <= from) throw badInput("validTo must be after validFrom", { field: "validTo" });
  if (to.getTime() <= Date.now()) throw badInput("validTo must be in the future", { field: "validTo" });
}

export class CouponTemplateService {
  constructor(private readonly d: { prisma: PrismaClient; catalog: CatalogPort; lottery: LotteryPort }) {}

  async create(input: CouponTemplateInput, operatorId: string | null): Promise<CouponTemplate> {
    const name = checkName(input.name);
    if (!TYPES.includes(input.type)) throw badInput("unknown coupon type", { field: "type" });
    const currency = input.currency;
    currencyDecimals(currency); // BAD_USER_INPUT for an unknown currency
    const threshold =
      input.threshold != null ? parseAmount(input.threshold, currency, { field: "threshold", allowZero: true }) : new Decimal(0);
    let amount: Decimal | null = null;
    let rate: Decimal | null = null;
    let cap: Decimal | null = null;
    if (input.type === "DISCOUNT") {
      if (input.rate == null || !/^0?\.\d{1,4}$/.test(input.rate.trim()))
        throw badInput("rate is a decimal between 0 and 1 (0.85 = 15% off), at most 4 digits", { field: "rate" });
      rate = new Decimal(input.rate.trim());
      if (rate.lte(0) || rate.gte(1)) throw badInput("rate must be between 0 and 1", { field: "rate" });
      if (input.cap != null) cap = parseAmount(input.cap, currency, { field: "cap" });
      if (input.amount != null) throw badInput("a DISCOUNT coupon has a rate, not an amount", { field: "amount" });
    } else {
      if (input.amount == null) throw badInput("amount is required", { field: "amount" });
      amount = parseAmount(input.amount, currency, { field: "amount" });
      if (input.rate != null || input.cap != null) throw badInput("rate and cap are for DISCOUNT coupons", { field: "rate" });
      if (input.type === "FULL_REDUCTION" && !threshold.gt(amount))
        throw badInput("a FULL_REDUCTION threshold must exceed its amount", { field: "threshold" });
      if (input.type === "NO_THRESHOLD" && !threshold.isZero())
        throw badInput("a NO_THRESHOLD coupon has no threshold", { field: "threshold" });
    }
    const validFrom = input.validFrom != null ? parseTime(input.validFrom, "validFrom") : null;
    const validTo = input.validTo != null ? parseTime(input.validTo, "validTo") : null;
    const validDays = input.validDays ?? null;
    if (validDays != null) {
      if (validFrom || validTo) throw badInput("validity is either fixed dates or validDays", { field: "validDays" });
      checkValidDays(validDays);
    } else {
      if (!validFrom || !validTo) throw badInput("give validFrom and validTo, or validDays", { field: "validTo" });
      checkWindow(validFrom, validTo);
    }
    if (!Number.isInteger(input.totalQuantity) || input.totalQuantity < 1 || input.totalQuantity > 100_000_000)
      throw badInput("totalQuantity must be a positive integer", { field: "totalQuantity" });
    if (!Number.isInteger(input.perUserLimit) || input.perUserLimit < 1 || input.perUserLimit > input.totalQuantity)
      throw badInput("perUserLimit must be an integer in 1..totalQuantity", { field: "perUserLimit" });
    const { scope, scopeIds } = await checkScope(this.d.catalog, input.scope, input.scopeIds, currency);
    return this.d.prisma.couponTemplate.create({
      data: {
        id: randomUUID(),
        name,
        type: input.type,
        currency,
        threshold: threshold.toFixed(),
        amount: amount?.toFixed() ?? null,
        rate: rate?.toFixed() ?? null,
        cap: cap?.toFixed() ?? null,
        scope,
        scopeIds,
        validFrom,
        validTo,
        validDays,
        totalQuantity: input.totalQuantity,
        perUserLimit: input.perUserLimit,
        createdBy: operatorId,
      },
    });
  }

  list(activeOnly = true) {
    return this.d.prisma.couponTemplate.findMany({
      where: activeOnly ? { active: true } : {},
      orderBy: [{ createdAt: "desc" }, { id: "asc" }],
      take: 200,
    });
  }

  /**
   * Operators edit a template: name, validity (fixed dates stay fixed dates, validDays stays
   * validDays; coupons already issued keep theirs), total quantity up only. Bad input changes nothing.
   */
  async update(id: string, input: CouponTemplateUpdate): Promise<CouponTemplate> {
    const t = await this.d.prisma.couponTemplate.findUnique({ where: { id: typeof id === "string" ? id : "" } });
    if (!t) throw notFound("coupon template", id);
    const data: { name?: string; validFrom?: Date; validTo?: Date; validDays?: number; totalQuantity?: number } = {};
    if (input.name != null) data.name = checkName(input.name);
    if (t.validDays == null) {
      if (input.validDays != null) throw badInput("this template has fixed dates: change validFrom / validTo", { field: "validDays" });
      if (input.validFrom != null || input.validTo != null) {
        const from =
          input.validFrom != null
            ? parseTime(input.validFrom, "validFrom")
            : defined(t.validFrom, `validFrom of fixed-date template ${t.id}`);
        const to =
          input.validTo != null ? parseTime(input.validTo, "validTo") : defined(t.validTo, `validTo of fixed-date template ${t.id}`);
        checkWindow(from, to);
        Object.assign(data, { validFrom: from, validTo: to });
      }
    } else {
      if (input.validFrom != null || input.validTo != null)
        throw badInput("this template is valid for validDays after the claim: change validDays", { field: "validFrom" });
      if (input.validDays != null) data.validDays = checkValidDays(input.validDays);
    }
    const qty = input.totalQuantity;
    if (qty != null) {
      if (!Number.isInteger(qty) || qty > 100_000_000)
        throw badInput("totalQuantity must be an integer up to 100,000,000", { field: "totalQuantity" });
      if (qty < t.totalQuantity)
        throw badInput(`totalQuantity can only grow (it is ${t.totalQuantity})`, {
          field: "totalQuantity",
          reason: "QUANTITY_CAN_ONLY_GROW",
        });
      data.totalQuantity = qty;
    }
    // conditional on the quantity it has now (it only grows, also under concurrent edits)
    const r = await this.d.prisma.couponTemplate.updateMany({
      where: { id, totalQuantity: { lte: data.totalQuantity ?? t.totalQuantity } },
      data,
    });
    if (!r.count) throw badInput("totalQuantity can only grow", { field: "totalQuantity", reason: "QUANTITY_CAN_ONLY_GROW" });
    return this.d.prisma.couponTemplate.findUniqueOrThrow({ where: { id } });
  }

  /**
   * Activates or deactivates a template. A deactivated one issues no more coupons (claims, grants,
   * scheduled issuance, NEW_USER); coupons already issued stay usable until they expire. A template
   * a live lottery award grants cannot be deactivated (TEMPLATE_IN_USE): lottery is asked, and when
   * it cannot answer the deactivation is refused too.
   */
  async setActive(id: string, active: boolean): Promise<CouponTemplate> {
    const t = await this.d.prisma.couponTemplate.findUnique({ where: { id: typeof id === "string" ? id : "" } });
    if (!t) throw notFound("coupon template", id);
    if (!active && t.active && (await this.d.lottery.couponTemplatesInUse([id])).includes(id))
      throw new AppError(ErrorCode.CONFLICT, "a live lottery award grants this template: change the award or close its activity first", {
        reason: "TEMPLATE_IN_USE",
        templateId: id,
      });
    return this.d.prisma.couponTemplate.update({ where: { id }, data: { active } });
  }
}
