/**
 * THE pricing function of the platform (ARCHITECTURE rule 9: prices with promotions are computed by
 * promotion alone). Pure: no I/O, no clock — the caller passes the live campaigns, the coupon(s) and
 * `now`. The cart shows what it returns and placeOrder charges what it returns.
 *
 * Rules (docs/decisions/0011-pricing-and-stacking.md):
 * 1. Full-reduction campaigns first. A campaign applies to the lines in its scope (ALL | CATEGORIES
 *    with their descendants | SPUS) that no other campaign took; its best tier reached by those lines'
 *    subtotal gives the discount (never more than those lines' subtotal). Several campaigns: the one
 *    giving the largest discount takes its lines first, then the next over the lines left, and so on
 *    (ties: the order the caller lists them in, oldest first). A line is in at most one campaign.
 * 2. Then at most one coupon, over the lines in its scope, minus the lines of campaigns that do not
 *    stack with coupons. Its threshold is measured over what those lines cost after the campaigns.
 *    FULL_REDUCTION / NO_THRESHOLD / NEW_USER take `amount`; DISCOUNT takes (1 − rate) of that base,
 *    rounded down to the currency's minor unit, at most `cap`. Never more than the base.
 * 3. Each discount is spread over its lines in proportion to their amounts, in integer minor units
 *    by the largest-remainder method (ties: larger amount, then line order), so the line discounts
 *    add up to the total exactly and a line never gets more off than it costs.
 */
import { defined } from "@mallgraph/platform/errors";
import { Decimal, currencyDecimals } from "@mallgraph/platform/money";

export type Scope = "ALL" | "CATEGORIES" | "SPUS";
export type CouponType = "FULL_REDUCTION" | "DISCOUNT" | "NO_THRESHOLD" | "NEW_USER";

export interface PriceLineInput {
  skuId: string;
  spuId: string;
  /** The SPU's category and its ancestors (leaf first); only needed for CATEGORIES scopes. */
  categoryIds?: readonly string[];
  /** Exact decimal in the quote's currency. */
  unitPrice: string;
  quantity: number;
}

export interface CampaignTier {
  threshold: string;
  amount: string;
}

export interface CampaignRule {
  id: string;
  name: string;
  currency: string;
  scope: Scope;
  scopeIds: readonly string[];
  /** Ascending thresholds, each amount below its threshold (validated at creation). */
  tiers: readonly CampaignTier[];
  stackableWithCoupons: boolean;
  startsAt: Date;
  endsAt: Date;
  /** Ended early by an operator. */
  endedAt?: Date | null;
}

export interface CouponRule {
  couponId: string;
  name: string;
  type: CouponType;
  currency: string;
  threshold: string;
  amount: string | null;
  rate: string | null;
  cap: string | null;
  scope: Scope;
  scopeIds: readonly string[];
  status: "UNUSED" | "LOCKED" | "USED";
  validFrom: Date;
  validTo: Date;
}

export interface PriceInput {
  currency: string;
  lines: readonly PriceLineInput[];
  campaigns: readonly CampaignRule[];
  coupon?: CouponRule | null;
  now: Date;
}

export interface PricedLine {
  skuId: string;
  spuId: string;
  quantity: number;
  unitPrice: string;
  subtotal: string;
  /** The campaign this line is in (null: none). */
  campaignId: string | null;
  campaignDiscount: string;
  couponDiscount: string;
  discount: string;
  payable: string;
}

export interface AppliedPromotion {
  kind: "FULL_REDUCTION";
  id: string;
  name: string;
  /** The tier reached. */
  threshold: string;
  discount: string;
}

/** Why a coupon does not apply to these lines. */
export type CouponReason =
  "NOT_FOUND" | "USED" | "LOCKED" | "EXPIRED" | "NOT_YET_VALID" | "CURRENCY" | "SCOPE" | "NOT_STACKABLE" | "THRESHOLD";

export interface PriceResult {
  currency: string;
  itemsTotal: string;
  /** Campaigns' part of `discount`. */
  campaignDiscount: string;
  discount: string;
  payable: string;
  lines: PricedLine[];
  promotions: AppliedPromotion[];
  coupon: { couponId: string; name: string; discount: string } | null;
  /** Set when a coupon was given and does not apply. */
  couponReason: CouponReason | null;
}

export interface CouponOption {
  couponId: string;
  usable: boolean;
  reason: CouponReason | null;
  /** What it takes off these lines (null when not usable). */
  discount: string | null;
  /** The payable with this coupon (null when not usable). */
  payable: string | null;
}

// ------------------------------------------------------------------ minor units

/** An exact decimal as an integer count of the currency's minor units; throws on more digits. */
export function toMinor(value: string, digits: number): bigint {
  const d = new Decimal(value);
  const scaled = d.times(new Decimal(10).pow(digits));
  if (!scaled.isInteger()) throw new RangeError(`${value} has more than ${digits} decimal places`);
  return BigInt(scaled.toFixed(0));
}

export function fromMinor(v: bigint, digits: number): string {
  const neg = v < 0n;
  const s = (neg ? -v : v).toString().padStart(digits + 1, "0");
  const out = digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  return neg ? `-${out}` : out;
}

const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);

/**
 * Splits `total` over `weights` in proportion, in integer units, by the largest-remainder method:
 * everyone gets the floor of their exact share, the units left go to the largest remainders (ties:
 * larger weight, then earlier position). The shares add up to `total`; none exceeds its weight
 * when total ≤ Σ weights.
 */
export function allocate(total: bigint, weights: readonly bigint[]): bigint[] {
  const w = sum(weights);
  if (total < 0n || weights.some((x) => x < 0n)) throw new RangeError("allocate: negative amounts");
  if (total === 0n) return weights.map(() => 0n);
  if (w === 0n || total > w) throw new RangeError("allocate: total exceeds the weights");
  const shares = weights.map((x) => (total * x) / w);
  let left = total - sum(shares);
  const order = weights
    .map((x, i) => ({ i, x, r: (total * x) % w }))
    .sort((a, b) => (a.r !== b.r ? (b.r > a.r ? 1 : -1) : a.x !== b.x ? (b.x > a.x ? 1 : -1) : a.i - b.i));
  for (let k = 0; left > 0n; k++, left--) {
    const j = at(order, k).i;
    shares[j] = at(shares, j) + 1n;
  }
  return shares;
}

/** Element i of an array the index was made from (the lines and their parallel working rows, shares). */
function at<T>(a: readonly T[], i: number): T {
  return defined(a[i], `element ${i} of ${a.length}`);
}

// ------------------------------------------------------------------ scopes and rules

export function inScope(scope: Scope, ids: readonly string[], line: PriceLineInput): boolean {
  if (scope === "ALL") return true;
  if (scope === "SPUS") return ids.includes(line.spuId);
  return (line.categoryIds ?? []).some((c) => ids.includes(c));
}

export function campaignLive(c: CampaignRule, currency: string, now: Date): boolean {
  return c.currency === currency && !c.endedAt && c.startsAt.getTime() <= now.getTime() && now.getTime() < c.endsAt.getTime();
}

/** The best tier reached by `base` (minor units) and its discount, or null. */
function bestTier(c: CampaignRule, base: bigint, digits: number): { tier: CampaignTier; off: bigint } | null {
  let best: { tier: CampaignTier; off: bigint } | null = null;
  for (const t of c.tiers) {
    if (base < toMinor(t.threshold, digits)) continue;
    const off = toMinor(t.amount, digits);
    if (!best || off > best.off) best = { tier: t, off: off < base ? off : base };
  }
  return best && best.off > 0n ? best : null;
}

/** The coupon's own checks that do not depend on the lines. */
function couponStateReason(c: CouponRule, currency: string, now: Date): CouponReason | null {
  if (c.status === "USED") return "USED";
  if (c.status === "LOCKED") return "LOCKED";
  if (c.validTo.getTime() <= now.getTime()) return "EXPIRED";
  if (c.validFrom.getTime() > now.getTime()) return "NOT_YET_VALID";
  if (c.currency !== currency) return "CURRENCY";
  return null;
}

/** What a coupon takes off `base` (minor units), before the scope checks; 0 below the threshold. */
export function couponOff(c: Pick<CouponRule, "type" | "threshold" | "amount" | "rate" | "cap">, base: bigint, digits: number): bigint {
  if (base <= 0n || base < toMinor(c.threshold, digits)) return 0n;
  let off: bigint;
  if (c.type === "DISCOUNT") {
    const rate = toMinor(c.rate ?? "1", 4); // share paid, in 1/10,000
    off = (base * (10_000n - rate)) / 10_000n; // rounded down
    if (c.cap != null) {
      const cap = toMinor(c.cap, digits);
      if (off > cap) off = cap;
    }
  } else off = toMinor(c.amount ?? "0", digits);
  return off < base ? off : base;
}

// ------------------------------------------------------------------ the function

interface Working {
  subtotal: bigint;
  campaignId: string | null;
  campaignOff: bigint;
  couponOff: bigint;
  stackable: boolean;
}

function applyCampaigns(input: PriceInput, digits: number, work: Working[]): AppliedPromotion[] {
  const promotions: AppliedPromotion[] = [];
  let candidates = input.campaigns.filter((c) => campaignLive(c, input.currency, input.now));
  for (;;) {
    let pick: { c: CampaignRule; idx: number[]; tier: CampaignTier; off: bigint } | null = null;
    for (const c of candidates) {
      const idx = work.flatMap((w, i) => (w.campaignId === null && inScope(c.scope, c.scopeIds, at(input.lines, i)) ? [i] : []));
      if (!idx.length) continue;
      const best = bestTier(c, sum(idx.map((i) => at(work, i).subtotal)), digits);
      if (best && (!pick || best.off > pick.off)) pick = { c, idx, ...best };
    }
    if (!pick) return promotions;
    const shares = allocate(
      pick.off,
      pick.idx.map((i) => at(work, i).subtotal),
    );
    pick.idx.forEach((i, k) =>
      Object.assign(at(work, i), { campaignId: pick.c.id, campaignOff: at(shares, k), stackable: pick.c.stackableWithCoupons }),
    );
    promotions.push({
      kind: "FULL_REDUCTION",
      id: pick.c.id,
      name: pick.c.name,
      threshold: pick.tier.threshold,
      discount: fromMinor(pick.off, digits),
    });
    candidates = candidates.filter((c) => c !== pick.c);
  }
}

/** The coupon's discount and its lines, or why it does not apply. */
function evaluateCoupon(
  c: CouponRule,
  input: PriceInput,
  digits: number,
  work: readonly Working[],
): { off: bigint; idx: number[] } | { reason: CouponReason } {
  const state = couponStateReason(c, input.currency, input.now);
  if (state) return { reason: state };
  const scoped = work.flatMap((_, i) => (inScope(c.scope, c.scopeIds, at(input.lines, i)) ? [i] : []));
  if (!scoped.length) return { reason: "SCOPE" };
  const idx = scoped.filter((i) => at(work, i).stackable);
  if (!idx.length) return { reason: "NOT_STACKABLE" };
  const off = couponOff(c, sum(idx.map((i) => at(work, i).subtotal - at(work, i).campaignOff)), digits);
  return off > 0n ? { off, idx } : { reason: "THRESHOLD" };
}

function validate(input: PriceInput, digits: number): bigint[] {
  if (!input.lines.length) return [];
  return input.lines.map((l) => {
    if (!Number.isInteger(l.quantity) || l.quantity < 1) throw new RangeError(`line ${l.skuId}: quantity must be a positive integer`);
    const unit = toMinor(l.unitPrice, digits);
    if (unit < 0n) throw new RangeError(`line ${l.skuId}: negative price`);
    return unit * BigInt(l.quantity);
  });
}

/** Prices checked lines with the live campaigns and an optional coupon (see the rules above). */
export function price(input: PriceInput): PriceResult {
  const digits = currencyDecimals(input.currency);
  const work: Working[] = validate(input, digits).map((subtotal) => ({
    subtotal,
    campaignId: null,
    campaignOff: 0n,
    couponOff: 0n,
    stackable: true,
  }));
  const promotions = applyCampaigns(input, digits, work);
  let coupon: PriceResult["coupon"] = null;
  let couponReason: CouponReason | null = null;
  if (input.coupon) {
    const r = evaluateCoupon(input.coupon, input, digits, work);
    if ("reason" in r) couponReason = r.reason;
    else {
      const shares = allocate(
        r.off,
        r.idx.map((i) => at(work, i).subtotal - at(work, i).campaignOff),
      );
      r.idx.forEach((i, k) => (at(work, i).couponOff = at(shares, k)));
      coupon = { couponId: input.coupon.couponId, name: input.coupon.name, discount: fromMinor(r.off, digits) };
    }
  }
  const f = (v: bigint) => fromMinor(v, digits);
  const lines = work.map((w, i): PricedLine => {
    const l = at(input.lines, i);
    const off = w.campaignOff + w.couponOff;
    return {
      skuId: l.skuId,
      spuId: l.spuId,
      quantity: l.quantity,
      unitPrice: f(toMinor(l.unitPrice, digits)),
      subtotal: f(w.subtotal),
      campaignId: w.campaignId,
      campaignDiscount: f(w.campaignOff),
      couponDiscount: f(w.couponOff),
      discount: f(off),
      payable: f(w.subtotal - off),
    };
  });
  const itemsTotal = sum(work.map((w) => w.subtotal));
  const campaignDiscount = sum(work.map((w) => w.campaignOff));
  const discount = campaignDiscount + sum(work.map((w) => w.couponOff));
  return {
    currency: input.currency,
    itemsTotal: f(itemsTotal),
    campaignDiscount: f(campaignDiscount),
    discount: f(discount),
    payable: f(itemsTotal - discount),
    lines,
    promotions,
    coupon,
    couponReason,
  };
}

/**
 * Every coupon the buyer holds against these lines: usable or why not, what it would take off, and
 * the best one (the lowest payable; ties: the one expiring first, then the smaller id).
 */
export function couponOptions(
  input: Omit<PriceInput, "coupon">,
  coupons: readonly CouponRule[],
): { options: CouponOption[]; bestCouponId: string | null } {
  const options = coupons.map((c): CouponOption => {
    const r = price({ ...input, coupon: c });
    return r.coupon
      ? { couponId: c.couponId, usable: true, reason: null, discount: r.coupon.discount, payable: r.payable }
      : { couponId: c.couponId, usable: false, reason: r.couponReason, discount: null, payable: null };
  });
  let best: { o: CouponOption; c: CouponRule } | null = null;
  options.forEach((o, i) => {
    if (!o.usable) return;
    const c = at(coupons, i);
    if (!best) return void (best = { o, c });
    const d = new Decimal(defined(o.payable, "a usable option's payable")).comparedTo(defined(best.o.payable, "a usable option's payable"));
    if (
      d < 0 ||
      (d === 0 && (c.validTo < best.c.validTo || (c.validTo.getTime() === best.c.validTo.getTime() && c.couponId < best.c.couponId)))
    )
      best = { o, c };
  });
  return { options, bestCouponId: (best as { o: CouponOption } | null)?.o.couponId ?? null };
}
