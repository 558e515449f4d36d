/**
 * The promotion engine through the REAL stack (every subgraph, the workers and the gateway as
 * processes, seeded demo data), with the contract operations of "promotion engine": an operator's
 * full-reduction campaign on one category and a category coupon → the cart's pricing
 * (CartPricing) → PlaceOrder with expectedPayable charges exactly the cart's payable, line by line →
 * paid in the sandbox → a refund of one line returns exactly that line's share. Also the operators'
 * template list / deactivation and a seckill session cancelled.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Decimal } from "@mallgraph/platform/money";
import { waitFor } from "@mallgraph/platform/testing";
import type { GraphQLHttpClient } from "./client.ts";
import { startE2E, adminToken, registerMember, type E2E } from "./harness.ts";

type Node = { id: string; children?: Node[] };

describe("promotion engine through the gateway", () => {
  let e: E2E;
  let api: GraphQLHttpClient;

  beforeAll(async () => {
    e = await startE2E();
    api = e.api;
  }, 300000);
  afterAll(async () => {
    await e?.stop();
  });

  it("campaign + category coupon → CartPricing → PlaceOrder charges exactly the cart's payable → a one-line refund returns exactly that line's share", async () => {
    const admin = await adminToken(e);
    const { phone, token } = await registerMember(e, admin);
    const addressId = (
      await api.ok("AddAddress", { input: { receiver: "Wang", phone, region: "Hangzhou", detail: "2 Lake Rd", isDefault: true } }, token)
    ).addAddress.id;

    // two products of different root categories, CNY, in stock
    const rootOf = new Map<string, string>();
    for (const root of (await api.ok("Categories")).categories as Node[]) {
      const walk = (n: Node) => (rootOf.set(n.id, root.id), (n.children ?? []).forEach(walk));
      walk(root);
    }
    const items = (await api.ok("SearchProducts", { query: { keyword: "", first: 40 } })).searchProducts.items as Array<{ spuId: string }>;
    const PRODUCT = `query($id: ID!) { product(id: $id) { id category { id } skus { id price currency stock { available } } } }`;
    const picked: Array<{ root: string; skuId: string; price: string }> = [];
    for (const it of items) {
      const p = (await api.raw(PRODUCT, { id: it.spuId }, { token })).data.product;
      const sku = p.skus.find((s: any) => s.currency === "CNY" && s.stock.available >= 5);
      const root = rootOf.get(p.category.id)!;
      if (sku && !picked.some((x) => x.root === root)) picked.push({ root, skuId: sku.id, price: sku.price });
      if (picked.length === 2) break;
    }
    expect(picked.length).toBe(2);
    const [a, b] = picked as [(typeof picked)[0], (typeof picked)[0]];
    const aSubtotal = new Decimal(a.price).times(2);

    // the operator's campaign: reached exactly by two of A (满 A×2 减 10%)
    const off = aSubtotal.times("0.1").toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed(2);
    const day = 24 * 3600_000;
    const campaign = (
      await api.ok(
        "AdminCreateFullReductionCampaign",
        {
          input: {
            name: "e2e 满减",
            currency: "CNY",
            scope: "CATEGORIES",
            scopeIds: [a.root],
            tiers: [{ threshold: aSubtotal.toFixed(2), amount: off }],
            startsAt: new Date(Date.now() - day).toISOString(),
            endsAt: new Date(Date.now() + day).toISOString(),
            stackableWithCoupons: true,
          },
        },
        admin,
      )
    ).adminCreateFullReductionCampaign;
    expect(campaign).toMatchObject({ name: "e2e 满减", status: "ACTIVE" });
    expect(
      (
        await api.run(
          "AdminCreateFullReductionCampaign",
          {
            input: {
              name: "x",
              currency: "CNY",
              tiers: [{ threshold: "10", amount: "10" }],
              startsAt: new Date().toISOString(),
              endsAt: new Date(Date.now() + day).toISOString(),
            },
          },
          admin,
        )
      ).code,
    ).toBe("BAD_USER_INPUT");
    // a 90% coupon for B's category, claimed by the member
    const tpl = (
      await api.raw(
        `mutation($input: CouponTemplateInput!) { adminCreateCouponTemplate(input: $input) { id } }`,
        {
          input: {
            name: "e2e 9折",
            type: "DISCOUNT",
            currency: "CNY",
            rate: "0.9",
            scope: "CATEGORIES",
            scopeIds: [b.root],
            validDays: 3,
            totalQuantity: 10,
            perUserLimit: 1,
          },
        },
        { token: admin },
      )
    ).data.adminCreateCouponTemplate.id;
    const couponId = (await api.raw(`mutation($t: ID!) { claimCoupon(templateId: $t) { code coupon { id } } }`, { t: tpl }, { token })).data
      .claimCoupon.coupon.id;
    expect((await api.ok("AdminCouponTemplates", {}, admin)).adminCouponTemplates).toContainEqual({
      id: tpl,
      name: "e2e 9折",
      type: "DISCOUNT",
      scope: "CATEGORIES",
      active: true,
      issuedCount: 1,
      totalQuantity: 10,
    });

    expect((await api.ok("AddToCart", { skuId: a.skuId, quantity: 2 }, token)).addToCart.code).toBe("OK");
    expect((await api.ok("AddToCart", { skuId: b.skuId, quantity: 1 }, token)).addToCart.code).toBe("OK");
    const itemsTotal = aSubtotal.plus(b.price);
    const couponOff = new Decimal(b.price).times("0.1").toDecimalPlaces(2, Decimal.ROUND_DOWN);
    // Cart: totals.discount is the campaign's part
    expect((await api.ok("Cart", {}, token)).cart.totals).toMatchObject({
      itemsTotal: itemsTotal.toFixed(2),
      discount: off,
      payable: itemsTotal.minus(off).toFixed(2),
      currency: "CNY",
    });
    const pricing = (await api.ok("CartPricing", { couponId }, token)).cart;
    const payable = itemsTotal.minus(off).minus(couponOff).toFixed(2);
    expect(pricing.pricing).toMatchObject({
      itemsTotal: itemsTotal.toFixed(2),
      discount: new Decimal(off).plus(couponOff).toFixed(2),
      payable,
      currency: "CNY",
      promotions: [{ kind: "FULL_REDUCTION", name: "e2e 满减", discount: off }],
      coupon: { couponId, discount: couponOff.toFixed(2) },
    });
    const lines = Object.fromEntries(pricing.pricing.lines.map((l: any) => [l.skuId, l]));
    expect(lines[a.skuId]).toMatchObject({
      quantity: 2,
      subtotal: aSubtotal.toFixed(2),
      discount: off,
      payable: aSubtotal.minus(off).toFixed(2),
    });
    expect(lines[b.skuId]).toMatchObject({
      quantity: 1,
      subtotal: new Decimal(b.price).toFixed(2),
      discount: couponOff.toFixed(2),
      payable: new Decimal(b.price).minus(couponOff).toFixed(2),
    });
    expect(pricing.applicableCoupons).toContainEqual({
      coupon: { id: couponId, template: { name: "e2e 9折", type: "DISCOUNT", scope: "CATEGORIES" } },
      usable: true,
      reason: null,
      discount: couponOff.toFixed(2),
    });

    // a price the buyer did not see is refused, nothing reserved
    expect(
      (await api.ok("PlaceOrder", { input: { fromCart: true, addressId, couponId, expectedPayable: "0.01" } }, token)).placeOrder,
    ).toMatchObject({ code: "PRICE_CHANGED", order: null });
    const placed = (
      await api.ok(
        "PlaceOrder",
        { input: { fromCart: true, addressId, couponId, expectedPayable: payable, idempotencyKey: "e2e-promo" } },
        token,
      )
    ).placeOrder;
    expect(placed).toMatchObject({ code: "OK", order: { status: "PENDING_PAYMENT", payable, currency: "CNY" } });
    const ORDER = `query($id: ID!) { order(id: $id) { status payable refundedAmount discount items { skuId quantity subtotal discount payable } } }`;
    const order = (await api.raw(ORDER, { id: placed.order.id }, { token })).data.order;
    for (const i of order.items)
      expect([i.subtotal, i.discount, i.payable]).toEqual([lines[i.skuId].subtotal, lines[i.skuId].discount, lines[i.skuId].payable]);

    // paid in the sandbox: exactly the cart's payable; the coupon is used
    const pay = (await api.ok("CreatePayment", { orderId: placed.order.id, channel: "SANDBOX" }, token)).createPayment;
    expect(pay.payment.amount).toBe(payable);
    expect((await api.ok("SandboxCompletePayment", { checkoutRef: pay.payment.checkoutRef }, token)).sandboxCompletePayment).toBe(true);
    await waitFor(async () => (await api.raw(ORDER, { id: placed.order.id }, { token })).data.order.status === "PAID", "the paid order");
    await waitFor(
      async () => (await api.ok("MyCoupons", {}, token)).myCoupons.some((c: any) => c.id === couponId && c.status === "USED"),
      "the coupon used",
    );

    // a refund of B's line: exactly that line's payable, the order stays PAID
    const REQ = `mutation($o: ID!, $lines: [AfterSaleLineInput!]) { requestAfterSale(orderId: $o, type: REFUND, reason: "one line", lines: $lines) { code afterSale { id amount } } }`;
    const req = (await api.raw(REQ, { o: placed.order.id, lines: [{ skuId: b.skuId, quantity: 1 }] }, { token })).data.requestAfterSale;
    expect(req).toMatchObject({ code: "OK", afterSale: { amount: lines[b.skuId].payable } });
    const review = await api.raw(
      `mutation($id: ID!) { adminReviewAfterSale(id: $id, approve: true) { code afterSale { status } } }`,
      { id: req.afterSale.id },
      { token: admin },
    );
    expect(review.data.adminReviewAfterSale).toEqual({ code: "OK", afterSale: { status: "APPROVED" } });
    const refunded = await waitFor(async () => {
      const o = (await api.raw(ORDER, { id: placed.order.id }, { token })).data.order;
      return o.refundedAmount !== "0.00" ? o : null;
    }, "the line refunded");
    expect(refunded).toMatchObject({ status: "PAID", refundedAmount: lines[b.skuId].payable });
    const after = (
      await api.raw(
        `query($id: ID!) { order(id: $id) { afterSales { status lines { skuId quantity amount } } } }`,
        { id: placed.order.id },
        { token },
      )
    ).data.order.afterSales;
    await waitFor(
      async () =>
        (await api.raw(`query($id: ID!) { order(id: $id) { afterSales { status } } }`, { id: placed.order.id }, { token })).data.order
          .afterSales[0].status === "COMPLETED",
      "the after-sale completed",
    );
    expect(after[0].lines).toEqual([{ skuId: b.skuId, quantity: 1, amount: lines[b.skuId].payable }]);

    // operators: a template no live lottery award grants is deactivated (issued coupons stay as they are)
    expect((await api.ok("AdminSetCouponTemplateActive", { id: tpl, active: false }, admin)).adminSetCouponTemplateActive).toEqual({
      id: tpl,
      active: false,
    });
    expect((await api.run("AdminSetCouponTemplateActive", { id: tpl, active: false }, token)).code).toBe("UNAUTHENTICATED");
  }, 180_000);

  it("an operator cancels a seckill session: no more buys, its stock goes back to inventory", async () => {
    const admin = await adminToken(e);
    const { token } = await registerMember(e, admin);
    const spuId = (await api.ok("SearchProducts", { query: { keyword: "", first: 10 } })).searchProducts.items[3].spuId;
    const stockOf = async (skuId: string) =>
      (await api.ok("Product", { id: spuId }, token)).product.skus.find((s: any) => s.id === skuId).stock.available as number;
    const sku = (await api.ok("Product", { id: spuId }, token)).product.skus.find((s: any) => s.stock.available >= 4);
    const before = sku.stock.available as number;
    const created = (
      await api.ok(
        "AdminCreateSeckillSession",
        {
          input: {
            title: "e2e cancel",
            startsAt: new Date(Date.now() + 3600_000).toISOString(),
            endsAt: new Date(Date.now() + 7200_000).toISOString(),
            items: [{ skuId: sku.id, seckillPrice: "1.00", stock: 3, perUserLimit: 1 }],
          },
        },
        admin,
      )
    ).adminCreateSeckillSession;
    await waitFor(async () => (await stockOf(sku.id)) === before - 3, "the allocation");
    expect((await api.ok("AdminCancelSeckillSession", { id: created.id }, admin)).adminCancelSeckillSession).toEqual({
      id: created.id,
      status: "CANCELLED",
    });
    await waitFor(async () => (await stockOf(sku.id)) === before, "the stock back in inventory");
    expect(
      (await api.ok("SeckillBuy", { sessionId: created.id, skuId: sku.id, quantity: 1, idempotencyKey: "late" }, token)).seckillBuy.code,
    ).toBe("NOT_ONLINE");
  }, 120_000);
});
