import { loadConfig } from "@mallgraph/platform/config";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeCatalog, gql, member, internal, type FakeCatalog } from "../../order/test/support/fakes.ts";
import { createPromotionSubgraph } from "../../promotion/src/index.ts";
import { createCartSubgraph } from "../src/index.ts";
import { cartKey, MAX_LINES, seckillSkusKey } from "../src/services/cart.ts";

const CART = `{ cart { id items { sku { id } skuId quantity checked unitPrice subtotal currency status } totals { itemsTotal discount payable currency checkedQuantity } } }`;
const ADD = `mutation($skuId: ID!, $quantity: Int!) { addToCart(skuId: $skuId, quantity: $quantity) { code message cart { id items { skuId quantity checked } } } }`;
const UPDATE = `mutation($skuId: ID!, $quantity: Int!) { updateCartItem(skuId: $skuId, quantity: $quantity) { code cart { items { skuId quantity } } } }`;

describe("cart subgraph", () => {
  let redis: TestRedis;
  let catalog: FakeCatalog;
  let sg: Awaited<ReturnType<typeof createCartSubgraph>>;
  // the REAL promotion subgraph (its own throwaway schema): the cart's discounts are its pricing function's
  let promotion: Awaited<ReturnType<typeof createPromotionSubgraph>>;
  let promotionDb: TestSchema;
  let config: ReturnType<typeof loadConfig>;
  let secret: string;
  let n = 0;
  let buyer: string;
  const call = (q: string, v: Record<string, unknown> = {}, who = buyer) => gql(sg.url, secret, q, v, member(who));

  beforeAll(async () => {
    redis = createTestRedis();
    config = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url } as any);
    secret = config.INTERNAL_SECRET;
    catalog = await startFakeCatalog(secret);
    promotionDb = await createTestSchema("promotion");
    promotion = await createPromotionSubgraph({ config: { ...config, CATALOG_URL: catalog.url }, databaseUrl: promotionDb.url, port: 0 });
    sg = await createCartSubgraph({ config: { ...config, PROMOTION_URL: promotion.url }, port: 0, catalogUrl: catalog.url });
  });
  afterAll(async () => {
    await sg?.stop();
    await promotion?.stop();
    await catalog?.stop();
    await closeQueueConnections();
    await redis?.cleanup();
    await promotionDb?.drop();
  });
  beforeEach(() => {
    buyer = `m${++n}`;
    catalog.put({ id: "sku-a", title: "Tea", price: "12.50", available: 10 });
    catalog.put({ id: "sku-b", title: "Cup", price: "0.10", available: 5 });
    catalog.put({ id: "sku-c", title: "Pot", price: "99.99", available: 3 });
  });

  it("refuses anonymous callers and non-members", async () => {
    const anon = await gql(sg.url, secret, CART);
    expect(anon.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const anonAdd = await gql(sg.url, secret, ADD, { skuId: "sku-a", quantity: 1 });
    expect(anonAdd.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const forged = await fetch(sg.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-mg-identity": "x.1.y" },
      body: JSON.stringify({ query: CART }),
    });
    expect(((await forged.json()) as any).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("adds, raises and totals exact decimals over checked lines only", async () => {
    expect((await call(ADD, { skuId: "sku-a", quantity: 2 })).data.addToCart.code).toBe("OK");
    expect((await call(ADD, { skuId: "sku-a", quantity: 1 })).data.addToCart.cart.items).toEqual([
      { skuId: "sku-a", quantity: 3, checked: true },
    ]);
    await call(ADD, { skuId: "sku-b", quantity: 3 });
    await call(ADD, { skuId: "sku-c", quantity: 1 });
    const unchecked = await call(`mutation { checkCartItems(skuIds: ["sku-c"], checked: false) { code } }`);
    expect(unchecked.data.checkCartItems.code).toBe("OK");
    const { data } = await call(CART);
    expect(data.cart.id).toBe(buyer);
    expect(data.cart.items.map((i: any) => i.skuId)).toEqual(["sku-c", "sku-b", "sku-a"]); // newest first
    const a = data.cart.items.find((i: any) => i.skuId === "sku-a");
    expect(a).toMatchObject({
      sku: { id: "sku-a" },
      quantity: 3,
      checked: true,
      unitPrice: "12.50",
      subtotal: "37.50",
      currency: "CNY",
      status: "OK",
    });
    expect(data.cart.items.find((i: any) => i.skuId === "sku-b").subtotal).toBe("0.30");
    // 37.50 + 0.30 (sku-c unchecked)
    expect(data.cart.totals).toEqual({ itemsTotal: "37.80", discount: "0.00", payable: "37.80", currency: "CNY", checkedQuantity: 6 });
    await call(`mutation { checkCartItems(skuIds: [], checked: true) { code } }`);
    expect((await call(CART)).data.cart.totals.itemsTotal).toBe("137.79");
  });

  it("short stock keeps the quantity as it was and says why", async () => {
    await call(ADD, { skuId: "sku-c", quantity: 2 });
    const r = await call(ADD, { skuId: "sku-c", quantity: 2 }); // 4 > 3
    expect(r.data.addToCart.code).toBe("OUT_OF_STOCK");
    expect(r.data.addToCart.message).toMatch(/stock/);
    expect(r.data.addToCart.cart.items).toEqual([{ skuId: "sku-c", quantity: 2, checked: true }]);
    const up = await call(UPDATE, { skuId: "sku-c", quantity: 4 });
    expect(up.data.updateCartItem).toEqual({ code: "OUT_OF_STOCK", cart: { items: [{ skuId: "sku-c", quantity: 2 }] } });
    expect((await call(UPDATE, { skuId: "sku-c", quantity: 3 })).data.updateCartItem.code).toBe("OK");
    // lowering is always allowed, even when stock fell or the product went off the shelf
    catalog.put({ id: "sku-c", title: "Pot", price: "99.99", available: 0, onShelf: false });
    expect((await call(UPDATE, { skuId: "sku-c", quantity: 1 })).data.updateCartItem).toEqual({
      code: "OK",
      cart: { items: [{ skuId: "sku-c", quantity: 1 }] },
    });
    expect((await call(UPDATE, { skuId: "sku-c", quantity: 2 })).data.updateCartItem.code).toBe("OFF_SHELF");
    const view = (await call(CART)).data.cart;
    expect(view.items[0].status).toBe("OFF_SHELF");
    expect(view.totals.itemsTotal).toBe("0.00"); // off-shelf lines are not totalled
  });

  it("a new line above stock is not added at all", async () => {
    const r = await call(ADD, { skuId: "sku-b", quantity: 6 });
    expect(r.data.addToCart.code).toBe("OUT_OF_STOCK");
    expect(r.data.addToCart.cart.items).toEqual([]);
  });

  it("concurrent adds never overshoot stock (exact count)", async () => {
    const results = await Promise.all(Array.from({ length: 40 }, () => call(ADD, { skuId: "sku-a", quantity: 1 })));
    const ok = results.filter((r) => r.data.addToCart.code === "OK").length;
    expect(ok).toBe(10);
    expect(results.filter((r) => r.data.addToCart.code === "OUT_OF_STOCK").length).toBe(30);
    expect((await call(CART)).data.cart.items[0].quantity).toBe(10);
  });

  it("bad quantities, unknown and off-shelf SKUs are refused with a code and change nothing", async () => {
    await call(ADD, { skuId: "sku-a", quantity: 1 });
    for (const q of [0, -1, 1000]) {
      expect((await call(ADD, { skuId: "sku-a", quantity: q })).data.addToCart.code).toBe("BAD_QUANTITY");
      expect((await call(UPDATE, { skuId: "sku-a", quantity: q })).data.updateCartItem.code).toBe("BAD_QUANTITY");
    }
    expect((await call(ADD, { skuId: "nope", quantity: 1 })).data.addToCart.code).toBe("NOT_FOUND");
    catalog.put({ id: "sku-off", title: "Old", price: "1.00", available: 9, onShelf: false });
    expect((await call(ADD, { skuId: "sku-off", quantity: 1 })).data.addToCart.code).toBe("OFF_SHELF");
    expect((await call(UPDATE, { skuId: "sku-b", quantity: 1 })).data.updateCartItem.code).toBe("NOT_IN_CART");
    const empty = await call(ADD, { skuId: "", quantity: 1 });
    expect(empty.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await call(CART)).data.cart.items).toEqual([expect.objectContaining({ skuId: "sku-a", quantity: 1 })]);
  });

  it("a full cart refuses a new line (CART_FULL) but still raises existing ones", async () => {
    const key = cartKey(redis.prefix, buyer);
    const fields: string[] = [];
    for (let i = 0; i < MAX_LINES - 1; i++) fields.push(`filler-${i}`, JSON.stringify({ q: 1, c: 0, t: i }));
    await sg.services.redis.hset(key, ...fields);
    expect((await call(ADD, { skuId: "sku-a", quantity: 1 })).data.addToCart.code).toBe("OK");
    expect((await call(ADD, { skuId: "sku-b", quantity: 1 })).data.addToCart.code).toBe("CART_FULL");
    expect((await call(ADD, { skuId: "sku-a", quantity: 1 })).data.addToCart.code).toBe("OK");
    expect(await sg.services.redis.hlen(key)).toBe(MAX_LINES);
  });

  it("refuses seckill SKUs (Redis set of the promotion domain)", async () => {
    await sg.services.redis.sadd(seckillSkusKey(redis.prefix), "sku-b");
    try {
      const r = await call(ADD, { skuId: "sku-b", quantity: 1 });
      expect(r.data.addToCart.code).toBe("SECKILL_NOT_ALLOWED");
      expect(r.data.addToCart.cart.items).toEqual([]);
    } finally {
      await sg.services.redis.srem(seckillSkusKey(redis.prefix), "sku-b");
    }
  });

  it("removes, clears, and keeps carts of members apart", async () => {
    await call(ADD, { skuId: "sku-a", quantity: 1 });
    await call(ADD, { skuId: "sku-b", quantity: 1 });
    const other = `${buyer}-other`;
    await call(ADD, { skuId: "sku-c", quantity: 1 }, other);
    const r = await call(`mutation { removeFromCart(skuIds: ["sku-a"]) { code cart { items { skuId } } } }`);
    expect(r.data.removeFromCart).toEqual({ code: "OK", cart: { items: [{ skuId: "sku-b" }] } });
    expect((await call(`mutation { clearCart { code cart { items { skuId } totals { itemsTotal } } } }`)).data.clearCart).toEqual({
      code: "OK",
      cart: { items: [], totals: { itemsTotal: "0.00" } },
    });
    expect((await call(CART, {}, other)).data.cart.items.map((i: any) => i.skuId)).toEqual(["sku-c"]);
  });

  it("internal fields: checked lines and removal, for trusted services only", async () => {
    await call(ADD, { skuId: "sku-a", quantity: 2 });
    await call(ADD, { skuId: "sku-b", quantity: 1 });
    await call(`mutation { checkCartItems(skuIds: ["sku-b"], checked: false) { code } }`);
    const Q = `query($m: ID!) { cartCheckedLines(memberId: $m) { skuId quantity } }`;
    expect((await call(Q, { m: buyer })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await gql(sg.url, secret, Q, { m: buyer }, internal("order"))).data).toEqual({
      cartCheckedLines: [{ skuId: "sku-a", quantity: 2 }],
    });
    const R = `mutation($m: ID!, $s: [ID!]!) { cartRemoveSkus(memberId: $m, skuIds: $s) }`;
    expect((await call(R, { m: buyer, s: ["sku-a"] })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await gql(sg.url, secret, R, { m: buyer, s: ["sku-a"] }, internal("order"))).data).toEqual({ cartRemoveSkus: true });
    expect((await call(CART)).data.cart.items.map((i: any) => i.skuId)).toEqual(["sku-b"]);
  });

  it("one batched catalog call per cart view", async () => {
    await call(ADD, { skuId: "sku-a", quantity: 1 });
    await call(ADD, { skuId: "sku-b", quantity: 1 });
    await call(ADD, { skuId: "sku-c", quantity: 1 });
    const before = catalog.calls.snapshots;
    await call(CART);
    expect(catalog.calls.snapshots - before).toBe(1);
  });

  it("totals.discount is the live campaigns' discount; pricing(couponId) adds the coupon with line shares adding up; applicableCoupons says which coupon is usable and why not", async () => {
    const PRICING = `query($c: ID) { cart { totals { itemsTotal discount payable } pricing(couponId: $c) { itemsTotal discount campaignDiscount payable currency
      lines { skuId quantity subtotal campaignDiscount couponDiscount discount payable } promotions { kind name threshold discount } coupon { couponId name discount } couponReason bestCouponId }
      applicableCoupons { coupon { id } usable reason discount payable } } }`;
    const day = 24 * 3600_000;
    const camp = await promotion.services.campaigns.create(
      {
        name: "满100减10",
        currency: "CNY",
        tiers: [{ threshold: "100", amount: "10" }],
        startsAt: new Date(Date.now() - day).toISOString(),
        endsAt: new Date(Date.now() + day).toISOString(),
      },
      null,
    );
    try {
      const tpl = async (name: string, extra: Record<string, unknown>) =>
        (
          await promotion.services.couponTemplates.create(
            { name, currency: "CNY", validDays: 3, totalQuantity: 10, perUserLimit: 1, ...extra } as any,
            null,
          )
        ).id;
      const claim = async (t: string) => (await promotion.services.coupons.claim(buyer, t)).coupon!.id;
      const off20 = await claim(await tpl("满100减20", { type: "FULL_REDUCTION", threshold: "100", amount: "20" }));
      const off5 = await claim(await tpl("立减5", { type: "NO_THRESHOLD", amount: "5" }));
      const big = await claim(await tpl("满500减50", { type: "FULL_REDUCTION", threshold: "500", amount: "50" }));
      await call(ADD, { skuId: "sku-a", quantity: 8 }); // 100.00
      await call(ADD, { skuId: "sku-c", quantity: 1 }); // 99.99
      const plain = (await call(PRICING, { c: null })).data.cart;
      expect(plain.totals).toEqual({ itemsTotal: "199.99", discount: "10.00", payable: "189.99" });
      expect(plain.pricing).toMatchObject({
        itemsTotal: "199.99",
        discount: "10.00",
        campaignDiscount: "10.00",
        payable: "189.99",
        currency: "CNY",
        coupon: null,
        couponReason: null,
        bestCouponId: off20,
        promotions: [{ kind: "FULL_REDUCTION", name: "满100减10", threshold: "100.00", discount: "10.00" }],
      });
      // 10.00 over 99.99 / 100.00 → 5.00 + 5.00 (largest remainder)
      expect(plain.pricing.lines.map((l: any) => [l.skuId, l.campaignDiscount])).toEqual([
        ["sku-c", "5.00"],
        ["sku-a", "5.00"],
      ]);
      const withCoupon = (await call(PRICING, { c: off20 })).data.cart.pricing;
      expect(withCoupon).toMatchObject({
        discount: "30.00",
        payable: "169.99",
        coupon: { couponId: off20, name: "满100减20", discount: "20.00" },
      });
      const sum = (k: string) => withCoupon.lines.reduce((a: number, l: any) => a + Math.round(Number(l[k]) * 100), 0);
      expect(sum("discount")).toBe(3000);
      expect(sum("payable")).toBe(16999);
      expect(sum("couponDiscount")).toBe(2000);
      const options = Object.fromEntries(
        plain.applicableCoupons.map((o: any) => [o.coupon.id, [o.usable, o.reason, o.discount, o.payable]]),
      );
      expect(options).toEqual({
        [off20]: [true, null, "20.00", "169.99"],
        [off5]: [true, null, "5.00", "184.99"],
        [big]: [false, "THRESHOLD", null, null],
      });
      // a coupon that does not apply is left out and says why; an unknown one is NOT_FOUND
      expect((await call(PRICING, { c: big })).data.cart.pricing).toMatchObject({
        coupon: null,
        couponReason: "THRESHOLD",
        payable: "189.99",
      });
      expect((await call(PRICING, { c: "nope" })).data.cart.pricing).toMatchObject({ coupon: null, couponReason: "NOT_FOUND" });
      // another member sees none of this member's coupons
      expect((await call(`{ cart { applicableCoupons { usable } } }`, {}, `${buyer}-x`)).data.cart.applicableCoupons).toEqual([]);
      // promotion unreachable: the cart stays readable with totals without campaigns; pricing says it is unavailable
      const lonely = await createCartSubgraph({
        config: { ...config, PROMOTION_URL: "http://127.0.0.1:1/graphql" },
        port: 0,
        catalogUrl: catalog.url,
      });
      try {
        const r = await gql(lonely.url, secret, PRICING, { c: null }, member(buyer));
        expect(r.data).toBeNull();
        expect(r.errors?.[0]?.extensions?.code).toBe("SERVICE_UNAVAILABLE");
        expect((await gql(lonely.url, secret, CART, {}, member(buyer))).data.cart.totals).toMatchObject({
          itemsTotal: "199.99",
          discount: "0.00",
          payable: "199.99",
        });
      } finally {
        await lonely.stop();
      }
    } finally {
      await promotion.services.campaigns.end(camp.id);
    }
  });
});
