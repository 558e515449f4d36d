/**
 * Full-reduction campaigns and the internal pricing field against the REAL catalog subgraph
 * (scope checks, category paths), real PostgreSQL: operators create / list / end; bad input writes
 * nothing; `promotionPrice` applies the live campaigns and the member's coupon.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPromotionEnv, admin, type PromotionEnv } from "./support/env.ts";

const CREATE = `mutation($input: FullReductionCampaignInput!) { adminCreateFullReductionCampaign(input: $input) { id name status currency scope scopeIds tiers { threshold amount } stackableWithCoupons startsAt endsAt endedAt } }`;
const END = `mutation($id: ID!) { adminEndFullReductionCampaign(id: $id) { id status endedAt } }`;
const LIVE = `query { fullReductionCampaigns { id name scope scopeIds } }`;
const ADMIN_LIST = `query($s: CampaignStatus) { adminFullReductionCampaigns(status: $s) { id status } }`;
export const PRICE = `query($m: ID!, $cur: String!, $lines: [PriceLineInput!]!, $c: ID, $w: Boolean) {
  promotionPrice(memberId: $m, currency: $cur, lines: $lines, couponId: $c, withCoupons: $w) {
    currency itemsTotal campaignDiscount discount payable
    lines { skuId quantity subtotal campaignId campaignDiscount couponDiscount discount payable }
    promotions { kind id name threshold discount } coupon { couponId discount } couponReason bestCouponId
    couponOptions { couponId usable reason discount payable } } }`;
const INTERNAL = { kind: "internal" as const, service: "cart" };

describe("full-reduction campaigns and pricing", () => {
  let env: PromotionEnv;
  beforeAll(async () => {
    env = await startPromotionEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });
  const hour = 3600_000;
  const input = (extra: Record<string, unknown> = {}) => ({
    name: "满300减40 满500减80",
    currency: "CNY",
    tiers: [
      { threshold: "300", amount: "40" },
      { threshold: "500", amount: "80" },
    ],
    startsAt: new Date(Date.now() - hour).toISOString(),
    endsAt: new Date(Date.now() + 24 * hour).toISOString(),
    ...extra,
  });
  const create = async (extra: Record<string, unknown> = {}) => {
    const r = await env.call(CREATE, { input: input(extra) }, admin());
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.adminCreateFullReductionCampaign;
  };
  const count = () => env.promotion.services.prisma.fullReductionCampaign.count();

  it("operators create, list and end campaigns; bad tiers, dates, scopes and currencies are refused and write nothing", async () => {
    const usd = await env.newSpu({ currency: "USD", price: "10.00" });
    const before = await count();
    const bad: Array<[Record<string, unknown>, string, string?]> = [
      [
        {
          tiers: [
            { threshold: "500", amount: "80" },
            { threshold: "300", amount: "40" },
          ],
        },
        "BAD_USER_INPUT",
        "TIERS_OUT_OF_ORDER",
      ],
      [
        {
          tiers: [
            { threshold: "300", amount: "40" },
            { threshold: "500", amount: "30" },
          ],
        },
        "BAD_USER_INPUT",
        "TIERS_OUT_OF_ORDER",
      ],
      [{ tiers: [{ threshold: "300", amount: "300" }] }, "BAD_USER_INPUT", "TIER_AMOUNT_NOT_BELOW_THRESHOLD"],
      [{ tiers: [{ threshold: "300", amount: "400" }] }, "BAD_USER_INPUT", "TIER_AMOUNT_NOT_BELOW_THRESHOLD"],
      [{ tiers: [] }, "BAD_USER_INPUT"],
      [{ tiers: [{ threshold: "300.001", amount: "40" }] }, "BAD_USER_INPUT"],
      [{ tiers: [{ threshold: "300", amount: "-1" }] }, "BAD_USER_INPUT"],
      [{ currency: "XXX" }, "BAD_USER_INPUT"],
      [{ name: " " }, "BAD_USER_INPUT"],
      [{ endsAt: new Date(Date.now() - 1000).toISOString() }, "BAD_USER_INPUT"],
      [{ startsAt: new Date(Date.now() + 48 * hour).toISOString() }, "BAD_USER_INPUT"],
      [{ startsAt: "soon" }, "BAD_USER_INPUT"],
      [{ scope: "SPUS", scopeIds: [usd.spuId] }, "BAD_USER_INPUT", "CURRENCY_MISMATCH"],
      [{ scope: "SPUS", scopeIds: ["no-such-spu"] }, "BAD_USER_INPUT", "UNKNOWN_SPU"],
      [{ scope: "CATEGORIES", scopeIds: ["no-such-category"] }, "BAD_USER_INPUT", "UNKNOWN_CATEGORY"],
      [{ scope: "CATEGORIES", scopeIds: [] }, "BAD_USER_INPUT"],
      [{ scope: "ALL", scopeIds: [env.cat.root.id] }, "BAD_USER_INPUT"],
    ];
    for (const [extra, code, reason] of bad) {
      const r = await env.call(CREATE, { input: input(extra) }, admin());
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(extra)).toBe(code);
      if (reason) expect(r.errors?.[0]?.extensions?.reason, JSON.stringify(extra)).toBe(reason);
    }
    expect((await env.call(CREATE, { input: input() }, "a-member")).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await env.call(CREATE, { input: input() }, admin(["order:read"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await count()).toBe(before);

    const a = await create({ scope: "CATEGORIES", scopeIds: [env.cat.mid.id] });
    expect(a).toMatchObject({
      status: "ACTIVE",
      currency: "CNY",
      scope: "CATEGORIES",
      scopeIds: [env.cat.mid.id],
      stackableWithCoupons: true,
      endedAt: null,
      tiers: [
        { threshold: "300.00", amount: "40.00" },
        { threshold: "500.00", amount: "80.00" },
      ],
    });
    const later = await create({ name: "later", startsAt: new Date(Date.now() + hour).toISOString() });
    expect(later.status).toBe("SCHEDULED");
    const live = (await env.call(LIVE)).data.fullReductionCampaigns.map((c: { id: string }) => c.id);
    expect(live).toContain(a.id);
    expect(live).not.toContain(later.id);
    const ended = (await env.call(END, { id: a.id }, admin())).data.adminEndFullReductionCampaign;
    expect(ended).toMatchObject({ id: a.id, status: "ENDED", endedAt: expect.any(String) });
    expect((await env.call(END, { id: a.id }, admin())).data.adminEndFullReductionCampaign.endedAt).toBe(ended.endedAt); // idempotent
    expect((await env.call(END, { id: "nope" }, admin())).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await env.call(LIVE)).data.fullReductionCampaigns.map((c: { id: string }) => c.id)).not.toContain(a.id);
    const byStatus = async (s: string) =>
      (await env.call(ADMIN_LIST, { s }, admin())).data.adminFullReductionCampaigns.map((c: { id: string }) => c.id);
    expect(await byStatus("ENDED")).toContain(a.id);
    expect(await byStatus("SCHEDULED")).toEqual([later.id]);
    expect(await byStatus("ACTIVE")).not.toContain(a.id);
    await env.call(END, { id: later.id }, admin());
  });

  it("promotionPrice: a CATEGORIES campaign covers descendants, a category coupon applies to its lines only, options and the best coupon", async () => {
    const other = await env.newCategories("price");
    const phone = await env.newSpu({ price: "250.00" }); // in cat.leaf (under cat.mid and cat.root)
    const case1 = await env.newSpu({ price: "100.00" });
    const shirt = await env.newSpu({ price: "80.00", categoryId: other.leaf });
    const camp = await create({ name: "手机满300减40", scope: "CATEGORIES", scopeIds: [env.cat.root.id] });
    const tpl = async (extra: Record<string, unknown>) =>
      (
        await env.call(
          `mutation($input: CouponTemplateInput!) { adminCreateCouponTemplate(input: $input) { id } }`,
          { input: { currency: "CNY", validDays: 3, totalQuantity: 10, perUserLimit: 1, ...extra } },
          admin(),
        )
      ).data.adminCreateCouponTemplate.id;
    const claim = async (who: string, t: string) =>
      (await env.call(`mutation($t: ID!) { claimCoupon(templateId: $t) { coupon { id } } }`, { t }, who)).data.claimCoupon.coupon
        .id as string;
    const shirtCoupon = await claim(
      "buyer",
      await tpl({
        name: "服饰满50减10",
        type: "FULL_REDUCTION",
        threshold: "50",
        amount: "10",
        scope: "CATEGORIES",
        scopeIds: [other.root],
      }),
    );
    const bigCoupon = await claim("buyer", await tpl({ name: "全场满500减60", type: "FULL_REDUCTION", threshold: "500", amount: "60" }));
    const someoneElses = await claim("someone", await tpl({ name: "立减5", type: "NO_THRESHOLD", amount: "5" }));
    const lines = [
      { skuId: phone.skuId, spuId: phone.spuId, unitPrice: "250.00", quantity: 1 },
      { skuId: case1.skuId, spuId: case1.spuId, unitPrice: "100.00", quantity: 1 },
      { skuId: shirt.skuId, spuId: shirt.spuId, unitPrice: "80.00", quantity: 1 },
    ];
    const q = async (c: string | null, w = false) => {
      const r = await env.call(PRICE, { m: "buyer", cur: "CNY", lines, c, w }, INTERNAL);
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      return r.data.promotionPrice;
    };
    // campaign over phone + case (350 ≥ 300 → 40: 28.57 + 11.43), the shirt is outside its category
    const plain = await q(null);
    expect(plain).toMatchObject({
      itemsTotal: "430.00",
      campaignDiscount: "40.00",
      discount: "40.00",
      payable: "390.00",
      coupon: null,
      couponReason: null,
      promotions: [{ kind: "FULL_REDUCTION", id: camp.id, name: "手机满300减40", threshold: "300.00", discount: "40.00" }],
    });
    expect(plain.lines.map((l: any) => [l.campaignDiscount, l.campaignId])).toEqual([
      ["28.57", camp.id],
      ["11.43", camp.id],
      ["0.00", null],
    ]);
    // the category coupon takes 10 off the shirt only
    const withShirt = await q(shirtCoupon, true);
    expect(withShirt).toMatchObject({ discount: "50.00", payable: "380.00", coupon: { couponId: shirtCoupon, discount: "10.00" } });
    expect(withShirt.lines.map((l: any) => l.couponDiscount)).toEqual(["0.00", "0.00", "10.00"]);
    // 满500减60 over the whole cart after the campaign: 430 − 40 = 390 < 500
    expect((await q(bigCoupon)).couponReason).toBe("THRESHOLD");
    // another member's coupon is NOT_FOUND; options list only the buyer's, the best is the shirt coupon
    expect(await q(someoneElses)).toMatchObject({ coupon: null, couponReason: "NOT_FOUND", payable: "390.00" });
    expect(withShirt.bestCouponId).toBe(shirtCoupon);
    expect(withShirt.couponOptions).toEqual(
      expect.arrayContaining([
        { couponId: shirtCoupon, usable: true, reason: null, discount: "10.00", payable: "380.00" },
        { couponId: bigCoupon, usable: false, reason: "THRESHOLD", discount: null, payable: null },
      ]),
    );
    expect(withShirt.couponOptions.map((o: any) => o.couponId)).not.toContain(someoneElses);
    // internal only; bad input
    expect((await env.call(PRICE, { m: "buyer", cur: "CNY", lines }, "buyer")).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(
      (await env.call(PRICE, { m: "buyer", cur: "CNY", lines: [{ ...lines[0], unitPrice: "1.001" }] }, INTERNAL)).errors?.[0]?.extensions
        ?.code,
    ).toBe("BAD_USER_INPUT");
    expect((await env.call(PRICE, { m: "buyer", cur: "XXX", lines }, INTERNAL)).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(
      (await env.call(PRICE, { m: "buyer", cur: "CNY", lines: [{ ...lines[0], quantity: 0 }] }, INTERNAL)).errors?.[0]?.extensions?.code,
    ).toBe("BAD_USER_INPUT");
    await env.call(END, { id: camp.id }, admin());
    expect((await q(null)).discount).toBe("0.00");
  });
});
