/**
 * Coupons through the REAL order subgraph: placeOrder locks the coupon (discount from promotion),
 * cancel releases it, payment consumes it; an unusable coupon refuses the order and locks nothing.
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
      (await env.call(`mutation($input: CouponTemplateInput!) { adminCreateCouponTemplate(input: $input) { id } }`, { input: { currency: "CNY", validDays: 3, totalQuantity: 10, perUserLimit: 1, ...input } }, admin())).data.adminCreateCouponTemplate.id;
    const off15 = await mk({ name: "满100减15", type: "FULL_REDUCTION", threshold: "100", amount: "15" });
    const coupon = (await env.call(`mutation($t: ID!) { claimCoupon(templateId: $t) { coupon { id } } }`, { t: off15 }, "shopper")).data.claimCoupon.coupon.id;
    const place = async (quantity: number, key: string) =>
      (await env.callOrder(PLACE, { input: { addressId, items: [{ skuId: sku, quantity }], couponId: coupon, idempotencyKey: key } }, "shopper")).data.placeOrder;
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
    expect((await env.callOrder(MARK_PAID, { o: second.order.id }, { kind: "internal", service: "payment" })).data.orderMarkPaid.code).toBe("OK");
    expect(await status()).toMatchObject({ status: "USED", discount: "15.00" });
    expect((await place(2, "k5")).code).toBe("COUPON_UNAVAILABLE");
  });
});
