/**
 * The pricing function, table-driven (pure: no database, no Redis): every campaign scope and tier
 * rule, every coupon kind, the stacking rules, the largest-remainder rounding of shared discounts,
 * and the best coupon.
 */
import { describe, expect, it } from "vitest";
import { allocate, couponOptions, price, type CampaignRule, type CouponRule, type PriceLineInput } from "../src/services/pricing.ts";

const NOW = new Date("2026-11-11T12:00:00Z");
const PAST = new Date("2026-11-01T00:00:00Z");
const FUTURE = new Date("2026-12-01T00:00:00Z");

const line = (skuId: string, unitPrice: string, quantity = 1, spuId = `spu-${skuId}`, categoryIds: string[] = []): PriceLineInput => ({
  skuId,
  spuId,
  unitPrice,
  quantity,
  categoryIds,
});
const campaign = (id: string, tiers: Array<[string, string]>, extra: Partial<CampaignRule> = {}): CampaignRule => ({
  id,
  name: id,
  currency: "CNY",
  scope: "ALL",
  scopeIds: [],
  tiers: tiers.map(([threshold, amount]) => ({ threshold, amount })),
  stackableWithCoupons: true,
  startsAt: PAST,
  endsAt: FUTURE,
  endedAt: null,
  ...extra,
});
const coupon = (type: CouponRule["type"], extra: Partial<CouponRule> = {}): CouponRule => ({
  couponId: `c-${type}`,
  name: type,
  type,
  currency: "CNY",
  threshold: "0",
  amount: type === "DISCOUNT" ? null : "10",
  rate: null,
  cap: null,
  scope: "ALL",
  scopeIds: [],
  status: "UNUSED",
  validFrom: PAST,
  validTo: FUTURE,
  ...extra,
});

interface Case {
  name: string;
  lines: PriceLineInput[];
  campaigns?: CampaignRule[];
  coupon?: CouponRule;
  currency?: string;
  /** [itemsTotal, discount, payable] */
  totals: [string, string, string];
  /** per line: [campaignDiscount, couponDiscount] */
  split?: Array<[string, string]>;
  promotions?: Array<[string, string]>;
  couponDiscount?: string | null;
  reason?: string | null;
}

const M300_40_500_80 = (extra: Partial<CampaignRule> = {}) =>
  campaign(
    "满300减40/满500减80",
    [
      ["300", "40"],
      ["500", "80"],
    ],
    extra,
  );

const cases: Case[] = [
  {
    name: "no promotion",
    lines: [line("a", "100.00", 2), line("b", "50.50")],
    totals: ["250.50", "0.00", "250.50"],
    split: [
      ["0.00", "0.00"],
      ["0.00", "0.00"],
    ],
    promotions: [],
  },
  {
    name: "campaign: the tier reached applies, spread by largest remainder (28.235→28.24, 11.765→11.76)",
    lines: [line("a", "120.00", 2), line("b", "100.00")],
    campaigns: [M300_40_500_80()],
    totals: ["340.00", "40.00", "300.00"],
    split: [
      ["28.24", "0.00"],
      ["11.76", "0.00"],
    ],
    promotions: [["满300减40/满500减80", "40.00"]],
  },
  {
    name: "campaign: the best tier",
    lines: [line("a", "520.00")],
    campaigns: [M300_40_500_80()],
    totals: ["520.00", "80.00", "440.00"],
    promotions: [["满300减40/满500减80", "80.00"]],
  },
  {
    name: "campaign: below the lowest tier",
    lines: [line("a", "299.99")],
    campaigns: [M300_40_500_80()],
    totals: ["299.99", "0.00", "299.99"],
    promotions: [],
  },
  {
    name: "campaign CATEGORIES: a descendant category is in scope, other lines are not and do not count toward the threshold",
    lines: [
      line("a", "200.00", 1, "spu-a", ["leaf-1", "mid-1", "root-1"]),
      line("b", "150.00", 1, "spu-b", ["leaf-2", "mid-2", "root-2"]),
      line("c", "120.00", 1, "spu-c", ["leaf-3", "mid-1", "root-1"]),
    ],
    campaigns: [M300_40_500_80({ scope: "CATEGORIES", scopeIds: ["mid-1"] })],
    totals: ["470.00", "40.00", "430.00"],
    split: [
      ["25.00", "0.00"],
      ["0.00", "0.00"],
      ["15.00", "0.00"],
    ],
  },
  {
    name: "campaign CATEGORIES: not reached when only the out-of-scope lines are big",
    lines: [line("a", "100.00", 1, "spu-a", ["leaf-1", "mid-1"]), line("b", "900.00", 1, "spu-b", ["leaf-2", "mid-2"])],
    campaigns: [M300_40_500_80({ scope: "CATEGORIES", scopeIds: ["mid-1"] })],
    totals: ["1000.00", "0.00", "1000.00"],
    promotions: [],
  },
  {
    name: "campaign SPUS",
    lines: [line("a", "310.00", 1, "spu-x"), line("b", "500.00", 1, "spu-y")],
    campaigns: [M300_40_500_80({ scope: "SPUS", scopeIds: ["spu-x"] })],
    totals: ["810.00", "40.00", "770.00"],
    split: [
      ["40.00", "0.00"],
      ["0.00", "0.00"],
    ],
  },
  {
    name: "two campaigns on disjoint lines each apply",
    lines: [line("a", "300.00", 1, "spu-x"), line("b", "100.00", 2, "spu-y")],
    campaigns: [
      campaign("X", [["300", "30"]], { scope: "SPUS", scopeIds: ["spu-x"] }),
      campaign("Y", [["200", "25"]], { scope: "SPUS", scopeIds: ["spu-y"] }),
    ],
    totals: ["500.00", "55.00", "445.00"],
    split: [
      ["30.00", "0.00"],
      ["25.00", "0.00"],
    ],
    promotions: [
      ["X", "30.00"],
      ["Y", "25.00"],
    ],
  },
  {
    name: "overlapping campaigns: the larger discount takes its lines first, a line is in one campaign only",
    lines: [line("a", "250.00", 1, "spu-1"), line("b", "100.00", 1, "spu-2")],
    campaigns: [
      campaign("ALL 满300减30", [["300", "30"]]),
      campaign("SPU 满200减50", [["200", "50"]], { scope: "SPUS", scopeIds: ["spu-1"] }),
    ],
    totals: ["350.00", "50.00", "300.00"],
    split: [
      ["50.00", "0.00"],
      ["0.00", "0.00"],
    ],
    promotions: [["SPU 满200减50", "50.00"]],
  },
  {
    name: "overlapping campaigns, equal discounts: the first listed (oldest) wins",
    lines: [line("a", "400.00")],
    campaigns: [campaign("old", [["300", "40"]]), campaign("new", [["100", "40"]])],
    totals: ["400.00", "40.00", "360.00"],
    promotions: [["old", "40.00"]],
  },
  {
    name: "campaigns not live: not started, ended by the operator, over, another currency",
    lines: [line("a", "1000.00")],
    campaigns: [
      campaign("future", [["1", "1"]], { startsAt: FUTURE, endsAt: new Date("2027-01-01T00:00:00Z") }),
      campaign("ended", [["1", "2"]], { endedAt: PAST }),
      campaign("over", [["1", "3"]], { startsAt: new Date("2026-01-01T00:00:00Z"), endsAt: NOW }),
      campaign("usd", [["1", "4"]], { currency: "USD" }),
    ],
    totals: ["1000.00", "0.00", "1000.00"],
    promotions: [],
  },
  {
    name: "rounding: 10.00 over three equal lines is 3.34 + 3.33 + 3.33 (ties: first line)",
    lines: [line("a", "10.00"), line("b", "10.00"), line("c", "10.00")],
    campaigns: [campaign("10", [["30", "10"]])],
    totals: ["30.00", "10.00", "20.00"],
    split: [
      ["3.34", "0.00"],
      ["3.33", "0.00"],
      ["3.33", "0.00"],
    ],
  },
  {
    name: "rounding in JPY (no minor digits)",
    lines: [line("a", "1000", 1), line("b", "999", 1), line("c", "1", 1)],
    currency: "JPY",
    campaigns: [campaign("jpy", [["2000", "100"]], { currency: "JPY" })],
    totals: ["2000", "100", "1900"],
    split: [
      ["50", "0"],
      ["50", "0"],
      ["0", "0"],
    ],
  },
  {
    name: "coupon FULL_REDUCTION over all lines, spread in proportion",
    lines: [line("a", "60.00"), line("b", "90.00")],
    coupon: coupon("FULL_REDUCTION", { threshold: "100", amount: "20" }),
    totals: ["150.00", "20.00", "130.00"],
    split: [
      ["0.00", "8.00"],
      ["0.00", "12.00"],
    ],
    couponDiscount: "20.00",
  },
  {
    name: "coupon FULL_REDUCTION below its threshold",
    lines: [line("a", "99.99")],
    coupon: coupon("FULL_REDUCTION", { threshold: "100", amount: "20" }),
    totals: ["99.99", "0.00", "99.99"],
    couponDiscount: null,
    reason: "THRESHOLD",
  },
  {
    name: "coupon DISCOUNT 85%: 15% of 199.99 = 29.9985, rounded down",
    lines: [line("a", "199.99")],
    coupon: coupon("DISCOUNT", { rate: "0.85", cap: "50" }),
    totals: ["199.99", "29.99", "170.00"],
    couponDiscount: "29.99",
  },
  {
    name: "coupon DISCOUNT: capped",
    lines: [line("a", "400.00")],
    coupon: coupon("DISCOUNT", { rate: "0.85", cap: "50" }),
    totals: ["400.00", "50.00", "350.00"],
    couponDiscount: "50.00",
  },
  {
    name: "coupon DISCOUNT without a cap, with a threshold",
    lines: [line("a", "400.00")],
    coupon: coupon("DISCOUNT", { rate: "0.9", threshold: "300" }),
    totals: ["400.00", "40.00", "360.00"],
    couponDiscount: "40.00",
  },
  {
    name: "coupon DISCOUNT in JPY",
    lines: [line("a", "999")],
    currency: "JPY",
    coupon: coupon("DISCOUNT", { rate: "0.9", currency: "JPY" }),
    totals: ["999", "99", "900"],
    couponDiscount: "99",
  },
  {
    name: "coupon NO_THRESHOLD",
    lines: [line("a", "30.00")],
    coupon: coupon("NO_THRESHOLD", { amount: "5" }),
    totals: ["30.00", "5.00", "25.00"],
    couponDiscount: "5.00",
  },
  {
    name: "coupon NEW_USER: never more than the lines cost",
    lines: [line("a", "5.00")],
    coupon: coupon("NEW_USER", { amount: "10" }),
    totals: ["5.00", "5.00", "0.00"],
    couponDiscount: "5.00",
  },
  {
    name: "coupon CATEGORIES: only in-scope lines get it, its threshold is measured over them",
    lines: [
      line("a", "80.00", 1, "spu-a", ["leaf-1", "mid-1", "root-1"]),
      line("b", "500.00", 1, "spu-b", ["leaf-9", "mid-9", "root-9"]),
      line("c", "40.00", 1, "spu-c", ["leaf-2", "mid-2", "root-1"]),
    ],
    coupon: coupon("FULL_REDUCTION", { scope: "CATEGORIES", scopeIds: ["root-1"], threshold: "100", amount: "12" }),
    totals: ["620.00", "12.00", "608.00"],
    split: [
      ["0.00", "8.00"],
      ["0.00", "0.00"],
      ["0.00", "4.00"],
    ],
    couponDiscount: "12.00",
  },
  {
    name: "coupon CATEGORIES: the threshold is not reached by the in-scope lines alone",
    lines: [line("a", "80.00", 1, "spu-a", ["leaf-1", "root-1"]), line("b", "500.00", 1, "spu-b", ["leaf-9", "root-9"])],
    coupon: coupon("FULL_REDUCTION", { scope: "CATEGORIES", scopeIds: ["root-1"], threshold: "100", amount: "12" }),
    totals: ["580.00", "0.00", "580.00"],
    reason: "THRESHOLD",
  },
  {
    name: "coupon SPUS: in-scope lines only",
    lines: [line("a", "50.00", 2, "spu-1"), line("b", "70.00", 1, "spu-2")],
    coupon: coupon("NO_THRESHOLD", { scope: "SPUS", scopeIds: ["spu-1"], amount: "15" }),
    totals: ["170.00", "15.00", "155.00"],
    split: [
      ["0.00", "15.00"],
      ["0.00", "0.00"],
    ],
  },
  {
    name: "coupon SPUS: no line in scope",
    lines: [line("a", "50.00", 1, "spu-1")],
    coupon: coupon("NO_THRESHOLD", { scope: "SPUS", scopeIds: ["spu-9"] }),
    totals: ["50.00", "0.00", "50.00"],
    reason: "SCOPE",
  },
  {
    name: "stacking: campaign first, the coupon's threshold over what the lines cost after it (320 − 40 = 280 < 300)",
    lines: [line("a", "320.00")],
    campaigns: [M300_40_500_80()],
    coupon: coupon("FULL_REDUCTION", { threshold: "300", amount: "30" }),
    totals: ["320.00", "40.00", "280.00"],
    reason: "THRESHOLD",
    promotions: [["满300减40/满500减80", "40.00"]],
  },
  {
    name: "stacking: campaign then coupon on the same lines; DISCOUNT is taken of the amount after the campaign",
    lines: [line("a", "300.00"), line("b", "200.00")],
    campaigns: [M300_40_500_80()],
    coupon: coupon("DISCOUNT", { rate: "0.9" }),
    // 500 → 80 off (48 + 32); then 10% of 420 = 42 (25.20 + 16.80)
    totals: ["500.00", "122.00", "378.00"],
    split: [
      ["48.00", "25.20"],
      ["32.00", "16.80"],
    ],
    couponDiscount: "42.00",
  },
  {
    name: "stacking: a campaign that does not stack keeps its lines out of the coupon; the coupon applies to the rest",
    lines: [line("a", "300.00", 1, "spu-1"), line("b", "50.00", 1, "spu-2")],
    campaigns: [campaign("no-stack", [["300", "40"]], { scope: "SPUS", scopeIds: ["spu-1"], stackableWithCoupons: false })],
    coupon: coupon("NO_THRESHOLD", { amount: "10" }),
    totals: ["350.00", "50.00", "300.00"],
    split: [
      ["40.00", "0.00"],
      ["0.00", "10.00"],
    ],
    couponDiscount: "10.00",
  },
  {
    name: "stacking: every in-scope line is in a campaign that does not stack",
    lines: [line("a", "300.00", 1, "spu-1")],
    campaigns: [campaign("no-stack", [["300", "40"]], { stackableWithCoupons: false })],
    coupon: coupon("NO_THRESHOLD", { amount: "10" }),
    totals: ["300.00", "40.00", "260.00"],
    reason: "NOT_STACKABLE",
  },
  {
    name: "stacking: a campaign whose tier is not reached does not block the coupon",
    lines: [line("a", "100.00")],
    campaigns: [campaign("no-stack", [["300", "40"]], { stackableWithCoupons: false })],
    coupon: coupon("NO_THRESHOLD", { amount: "10" }),
    totals: ["100.00", "10.00", "90.00"],
    couponDiscount: "10.00",
  },
  {
    name: "coupon USED",
    lines: [line("a", "50.00")],
    coupon: coupon("NO_THRESHOLD", { status: "USED" }),
    totals: ["50.00", "0.00", "50.00"],
    reason: "USED",
  },
  {
    name: "coupon LOCKED by another order",
    lines: [line("a", "50.00")],
    coupon: coupon("NO_THRESHOLD", { status: "LOCKED" }),
    totals: ["50.00", "0.00", "50.00"],
    reason: "LOCKED",
  },
  {
    name: "coupon expired",
    lines: [line("a", "50.00")],
    coupon: coupon("NO_THRESHOLD", { validTo: NOW }),
    totals: ["50.00", "0.00", "50.00"],
    reason: "EXPIRED",
  },
  {
    name: "coupon not yet valid",
    lines: [line("a", "50.00")],
    coupon: coupon("NO_THRESHOLD", { validFrom: FUTURE }),
    totals: ["50.00", "0.00", "50.00"],
    reason: "NOT_YET_VALID",
  },
  {
    name: "coupon in another currency",
    lines: [line("a", "50.00")],
    coupon: coupon("NO_THRESHOLD", { currency: "USD" }),
    totals: ["50.00", "0.00", "50.00"],
    reason: "CURRENCY",
  },
];

describe("price()", () => {
  it.each(cases)("$name", (c) => {
    const r = price({ currency: c.currency ?? "CNY", lines: c.lines, campaigns: c.campaigns ?? [], coupon: c.coupon ?? null, now: NOW });
    expect([r.itemsTotal, r.discount, r.payable]).toEqual(c.totals);
    if (c.split) expect(r.lines.map((l) => [l.campaignDiscount, l.couponDiscount])).toEqual(c.split);
    if (c.promotions) expect(r.promotions.map((p) => [p.name, p.discount])).toEqual(c.promotions);
    if (c.couponDiscount !== undefined) expect(r.coupon?.discount ?? null).toBe(c.couponDiscount);
    if (c.reason !== undefined) expect(r.couponReason).toBe(c.reason);
    // invariants of every quote: line discounts add up to the total, each line pays what it costs minus its discount
    const minor = (s: string) => BigInt(s.replace(".", ""));
    expect(r.lines.reduce((a, l) => a + minor(l.discount), 0n)).toBe(minor(r.discount));
    expect(r.lines.reduce((a, l) => a + minor(l.payable), 0n)).toBe(minor(r.payable));
    expect(r.lines.reduce((a, l) => a + minor(l.campaignDiscount), 0n)).toBe(minor(r.campaignDiscount));
    for (const l of r.lines) {
      expect(minor(l.payable) >= 0n).toBe(true);
      expect(minor(l.subtotal) - minor(l.discount)).toBe(minor(l.payable));
    }
  });

  it("refuses malformed lines (more digits than the currency has, no quantity)", () => {
    expect(() => price({ currency: "CNY", lines: [line("a", "1.001")], campaigns: [], now: NOW })).toThrow(RangeError);
    expect(() => price({ currency: "JPY", lines: [line("a", "1.5")], campaigns: [], now: NOW })).toThrow(RangeError);
    expect(() => price({ currency: "CNY", lines: [line("a", "1.00", 0)], campaigns: [], now: NOW })).toThrow(RangeError);
  });
});

describe("allocate() (largest remainder)", () => {
  it("adds up exactly and never gives a weight more than itself, over 3,000 random splits", () => {
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let k = 0; k < 3000; k++) {
      const weights = Array.from({ length: 1 + rnd(12) }, () => BigInt(rnd(100_000)));
      const w = weights.reduce((a, b) => a + b, 0n);
      if (w === 0n) continue;
      const total = BigInt(rnd(Number(w) + 1));
      const shares = allocate(total, weights);
      expect(shares.reduce((a, b) => a + b, 0n)).toBe(total);
      shares.forEach((s, i) => expect(s >= 0n && s <= weights[i]!).toBe(true));
    }
  });
  it("gives the extra units to the largest remainders", () => {
    expect(allocate(100n, [100n, 100n, 100n])).toEqual([34n, 33n, 33n]);
    expect(allocate(5n, [10n, 30n, 60n])).toEqual([0n, 2n, 3n]); // 0.5, 1.5, 3 → remainders .5 .5 0; tie → larger weight
    expect(allocate(0n, [0n, 0n])).toEqual([0n, 0n]);
    expect(() => allocate(3n, [1n, 1n])).toThrow(RangeError);
  });
});

describe("couponOptions()", () => {
  it("says for every coupon whether it is usable and why not, and picks the one leaving the lowest payable", () => {
    const lines = [line("a", "200.00", 1, "spu-1"), line("b", "100.00", 1, "spu-2")];
    const coupons = [
      coupon("FULL_REDUCTION", { couponId: "fr", threshold: "300", amount: "30", validTo: new Date("2026-11-30T00:00:00Z") }),
      coupon("DISCOUNT", { couponId: "d", rate: "0.9", cap: "100" }), // 30 off too, expires later
      coupon("NO_THRESHOLD", { couponId: "spu", scope: "SPUS", scopeIds: ["spu-3"] }),
      coupon("NO_THRESHOLD", { couponId: "used", status: "USED" }),
      coupon("NO_THRESHOLD", { couponId: "n", amount: "5" }),
    ];
    const r = couponOptions({ currency: "CNY", lines, campaigns: [], now: NOW }, coupons);
    expect(r.options).toEqual([
      { couponId: "fr", usable: true, reason: null, discount: "30.00", payable: "270.00" },
      { couponId: "d", usable: true, reason: null, discount: "30.00", payable: "270.00" },
      { couponId: "spu", usable: false, reason: "SCOPE", discount: null, payable: null },
      { couponId: "used", usable: false, reason: "USED", discount: null, payable: null },
      { couponId: "n", usable: true, reason: null, discount: "5.00", payable: "295.00" },
    ]);
    expect(r.bestCouponId).toBe("fr"); // tie on payable: the one expiring first
    expect(couponOptions({ currency: "CNY", lines, campaigns: [], now: NOW }, coupons.slice(2, 4)).bestCouponId).toBeNull();
  });
});
