/**
 * Coupons and campaigns through the REAL cart, order and catalog subgraphs: placeOrder locks the
 * coupon (discount from promotion), cancel releases it, payment consumes it; an unusable coupon
 * refuses the order and locks nothing; the cart's quote is exactly what the order charges, line by line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPromotionEnv, admin, type PromotionEnv } from "./support/env.ts";

const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { code order { id status payable } } }`;
const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { code } }`;
const MARK_PAID = `mutation($o: ID!) { orderMarkPaid(orderId: $o, paymentId: "pay-1", channel: "SANDBOX") { code } }`;
const MINE = `query { myCoupons { id status discount } }`;

describe("coupons in the order workflow", () => {
  let env: PromotionEnv;
  beforeAll(async () => {
    env = await startPromotionEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("lock on placeOrder, release on cancel, consume on payment; a coupon below its threshold refuses the order", async () => {
    const sku = await env.newSku(10, "60.00");
    const addressId = env.memberSg.addAddress("shopper").id;
    const mk = async (input: Record<string, unknown>) =>
      (
        await env.call(
          `mutation($input: CouponTemplateInput!) { adminCreateCouponTemplate(input: $input) { id } }`,
          { input: { currency: "CNY", validDays: 3, totalQuantity: 10, perUserLimit: 1, ...input } },
          admin(),
        )
      ).data.adminCreateCouponTemplate.id;
    const off15 = await mk({ name: "满100减15", type: "FULL_REDUCTION", threshold: "100", amount: "15" });
    const coupon = (await env.call(`mutation($t: ID!) { claimCoupon(templateId: $t) { coupon { id } } }`, { t: off15 }, "shopper")).data
      .claimCoupon.coupon.id;
    const place = async (quantity: number, key: string) =>
      (
        await env.callOrder(
          PLACE,
          { input: { addressId, items: [{ skuId: sku, quantity }], couponId: coupon, idempotencyKey: key } },
          "shopper",
        )
      ).data.placeOrder;
    const status = async () => (await env.call(MINE, {}, "shopper")).data.myCoupons.find((c: { id: string }) => c.id === coupon);

    // 60.00 < 100: refused, nothing locked, no stock held
    expect((await place(1, "k1")).code).toBe("COUPON_UNAVAILABLE");
    expect(await status()).toMatchObject({ status: "UNUSED", discount: null });
    expect(await env.stock(sku)).toEqual({ available: 10, reserved: 0, sold: 0 });

    const first = await place(2, "k2");
    expect(first).toMatchObject({ code: "OK", order: { status: "PENDING_PAYMENT", payable: "105.00" } });
    expect(await status()).toMatchObject({ status: "LOCKED", discount: "15.00" });
    // the same coupon cannot go into a second order meanwhile
    expect((await place(2, "k3")).code).toBe("COUPON_UNAVAILABLE");
    expect((await env.callOrder(CANCEL, { id: first.order.id }, "shopper")).data.cancelOrder.code).toBe("OK");
    expect(await status()).toMatchObject({ status: "UNUSED", discount: null });

    const second = await place(2, "k4");
    expect(second.order.payable).toBe("105.00");
    expect((await env.callOrder(MARK_PAID, { o: second.order.id }, { kind: "internal", service: "payment" })).data.orderMarkPaid.code).toBe(
      "OK",
    );
    expect(await status()).toMatchObject({ status: "USED", discount: "15.00" });
    expect((await place(2, "k5")).code).toBe("COUPON_UNAVAILABLE");
  });

  it("one price: a category campaign and a category coupon → the cart's pricing → placeOrder with expectedPayable charges exactly that, line by line", async () => {
    const day = 24 * 3600_000;
    const shirts = await env.newCategories("服饰");
    const phone = await env.newSpu({ price: "199.00" }); // small catalog's leaf (under root)
    const tee = await env.newSpu({ price: "49.90", categoryId: shirts.leaf });
    const jacket = await env.newSpu({ price: "299.00", categoryId: shirts.leaf });
    const addressId = env.memberSg.addAddress("one-price").id;
    const campaign = (
      await env.call(
        `mutation($input: FullReductionCampaignInput!) { adminCreateFullReductionCampaign(input: $input) { id } }`,
        {
          input: {
            name: "服饰满300减30",
            currency: "CNY",
            scope: "CATEGORIES",
            scopeIds: [shirts.mid],
            tiers: [{ threshold: "300", amount: "30" }],
            startsAt: new Date(Date.now() - day).toISOString(),
            endsAt: new Date(Date.now() + day).toISOString(),
          },
        },
        admin(),
      )
    ).data.adminCreateFullReductionCampaign.id;
    const tpl = (
      await env.call(
        `mutation($input: CouponTemplateInput!) { adminCreateCouponTemplate(input: $input) { id } }`,
        {
          input: {
            name: "服饰9折",
            type: "DISCOUNT",
            currency: "CNY",
            rate: "0.9",
            cap: "100",
            scope: "CATEGORIES",
            scopeIds: [shirts.root],
            validDays: 3,
            totalQuantity: 10,
            perUserLimit: 1,
          },
        },
        admin(),
      )
    ).data.adminCreateCouponTemplate.id;
    const coupon = (await env.call(`mutation($t: ID!) { claimCoupon(templateId: $t) { coupon { id } } }`, { t: tpl }, "one-price")).data
      .claimCoupon.coupon.id;
    for (const [sku, q] of [
      [phone.skuId, 1],
      [tee.skuId, 2],
      [jacket.skuId, 1],
    ] as const) {
      expect(
        (await env.callCart(`mutation($s: ID!, $q: Int!) { addToCart(skuId: $s, quantity: $q) { code } }`, { s: sku, q }, "one-price")).data
          .addToCart.code,
      ).toBe("OK");
    }
    const PRICING = `query($c: ID) { cart { totals { discount payable } pricing(couponId: $c) { itemsTotal discount payable lines { skuId subtotal discount payable } promotions { name discount } coupon { couponId discount } }
      applicableCoupons { coupon { id } usable reason discount } } }`;
    const cart = (await env.callCart(PRICING, { c: coupon }, "one-price")).data.cart;
    // clothes 2 × 49.90 + 299.00 = 398.80 ≥ 300 → −30 (7.51 + 22.49); then 10% of 368.80 = 36.88 (on clothes only); the phone pays full price
    expect(cart.totals).toEqual({ discount: "30.00", payable: "567.80" });
    expect(cart.pricing).toMatchObject({
      itemsTotal: "597.80",
      discount: "66.88",
      payable: "530.92",
      promotions: [{ name: "服饰满300减30", discount: "30.00" }],
      coupon: { couponId: coupon, discount: "36.88" },
    });
    const byLine = Object.fromEntries(cart.pricing.lines.map((l: any) => [l.skuId, [l.subtotal, l.discount, l.payable]]));
    expect(byLine[phone.skuId]).toEqual(["199.00", "0.00", "199.00"]);
    expect(cart.applicableCoupons).toEqual([{ coupon: { id: coupon }, usable: true, reason: null, discount: "36.88" }]);
    // the buyer places what they saw: same payable, same line discounts, coupon locked at the same amount
    const placed = (
      await env.callOrder(
        `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { code order { id itemsTotal discount payable items { skuId subtotal discount payable } } } }`,
        { input: { fromCart: true, addressId, couponId: coupon, expectedPayable: cart.pricing.payable, idempotencyKey: "one-price" } },
        "one-price",
      )
    ).data.placeOrder;
    expect(placed.code).toBe("OK");
    expect(placed.order).toMatchObject({ itemsTotal: "597.80", discount: "66.88", payable: "530.92" });
    expect(Object.fromEntries(placed.order.items.map((l: any) => [l.skuId, [l.subtotal, l.discount, l.payable]]))).toEqual(byLine);
    expect(
      (await env.call(`query { myCoupons { id status discount } }`, {}, "one-price")).data.myCoupons.find(
        (c: { id: string }) => c.id === coupon,
      ),
    ).toMatchObject({ status: "LOCKED", discount: "36.88" });
    await env.call(`mutation($id: ID!) { adminEndFullReductionCampaign(id: $id) { id } }`, { id: campaign }, admin());
  });
});
