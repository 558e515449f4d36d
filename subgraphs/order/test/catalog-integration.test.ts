/**
 * Integration with the REAL catalog and promotion subgraphs (each on its own throwaway schema): the
 * cart prices from catalog's skuSnapshots and promotion's pricing, placeOrder reserves through its inventoryReserve, cancel releases, payment confirms,
 * and a failure injected after createOrder leaves its stock untouched.
 */
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCartSubgraph } from "../../cart/src/index.ts";
import { createCatalogSubgraph } from "../../catalog/src/index.ts";
import { smallCatalog } from "../../catalog/test/helpers.ts";
import { createPromotionSubgraph } from "../../promotion/src/index.ts";
import { createOrderSubgraph } from "../src/index.ts";
import { PLACE, CANCEL, MARK_PAID } from "./support/env.ts";
import { startFakeMember, gql, member, internal, type FakeMember } from "./support/fakes.ts";

describe("cart + order against the real catalog subgraph", () => {
  let redis: TestRedis;
  let catalogDb: TestSchema;
  let orderDb: TestSchema;
  let promotionDb: TestSchema;
  let promotion: Awaited<ReturnType<typeof createPromotionSubgraph>>;
  let catalog: Awaited<ReturnType<typeof createCatalogSubgraph>>;
  let cart: Awaited<ReturnType<typeof createCartSubgraph>>;
  let order: Awaited<ReturnType<typeof createOrderSubgraph>>;
  let memberSg: FakeMember;
  let config: Config;
  let skuA: string;
  let skuB: string;
  const buyer = "real-buyer";
  let addressId: string;
  const stock = (id: string) => catalog.services.inventory.stock(id);
  const asBuyer = (url: string, q: string, v: Record<string, unknown> = {}) => gql(url, config.INTERNAL_SECRET, q, v, member(buyer));

  beforeAll(async () => {
    redis = createTestRedis();
    [catalogDb, orderDb, promotionDb] = await Promise.all([
      createTestSchema("catalog"),
      createTestSchema("order"),
      createTestSchema("promotion"),
    ]);
    const base = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, NODE_ENV: "test" } as any);
    catalog = await createCatalogSubgraph({ config: base, databaseUrl: catalogDb.url, port: 0 });
    memberSg = await startFakeMember(base.INTERNAL_SECRET);
    promotion = await createPromotionSubgraph({ config: { ...base, CATALOG_URL: catalog.url }, databaseUrl: promotionDb.url, port: 0 });
    cart = await createCartSubgraph({ config: { ...base, CATALOG_URL: catalog.url, PROMOTION_URL: promotion.url }, port: 0 });
    config = { ...base, CATALOG_URL: catalog.url, CART_URL: cart.url, MEMBER_URL: memberSg.url, PROMOTION_URL: promotion.url };
    order = await createOrderSubgraph({ config, databaseUrl: orderDb.url, port: 0 });
    const cat = await smallCatalog(catalog.services, { stock: 10, skus: 2 });
    [skuA, skuB] = cat.product.skus.map((s: { id: string }) => s.id) as [string, string];
    addressId = memberSg.addAddress(buyer).id;
  });
  afterAll(async () => {
    await order?.stop();
    await cart?.stop();
    await promotion?.stop();
    await catalog?.stop();
    await memberSg?.stop();
    await closeQueueConnections();
    await redis?.cleanup();
    await orderDb?.drop();
    await catalogDb?.drop();
    await promotionDb?.drop();
  });

  it("cart → order → cancel → pay, with the catalog's stock following", async () => {
    expect(
      (await asBuyer(cart.url, `mutation($s: ID!) { addToCart(skuId: $s, quantity: 2) { code } }`, { s: skuA })).data.addToCart.code,
    ).toBe("OK");
    expect(
      (await asBuyer(cart.url, `mutation($s: ID!) { addToCart(skuId: $s, quantity: 11) { code } }`, { s: skuB })).data.addToCart.code,
    ).toBe("OUT_OF_STOCK");
    expect(
      (await asBuyer(cart.url, `mutation($s: ID!) { addToCart(skuId: $s, quantity: 1) { code } }`, { s: skuB })).data.addToCart.code,
    ).toBe("OK");
    const view = (await asBuyer(cart.url, `{ cart { items { skuId subtotal status } totals { itemsTotal currency } } }`)).data.cart;
    expect(view.totals).toEqual({ itemsTotal: "21997.00", currency: "CNY" }); // 2 × 6999.00 + 7999.00
    const placed = (await asBuyer(order.url, PLACE, { input: { fromCart: true, addressId, idempotencyKey: "real-1" } })).data.placeOrder;
    expect(placed.code).toBe("OK");
    expect(placed.order.payable).toBe("21997.00");
    expect(await stock(skuA)).toEqual({ available: 8, reserved: 2, sold: 0 });
    expect((await asBuyer(cart.url, `{ cart { items { skuId } } }`)).data.cart.items).toEqual([]);
    expect((await asBuyer(order.url, CANCEL, { id: placed.order.id })).data.cancelOrder.code).toBe("OK");
    expect(await stock(skuA)).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await stock(skuB)).toEqual({ available: 10, reserved: 0, sold: 0 });

    const direct = (await asBuyer(order.url, PLACE, { input: { items: [{ skuId: skuB, quantity: 3 }], addressId } })).data.placeOrder;
    expect(direct.code).toBe("OK");
    const paid = await gql(
      order.url,
      config.INTERNAL_SECRET,
      MARK_PAID,
      { o: direct.order.id, p: "pay-real", c: "SANDBOX" },
      internal("payment"),
    );
    expect(paid.data.orderMarkPaid).toEqual({ code: "OK", status: "PAID" });
    expect(await stock(skuB)).toEqual({ available: 7, reserved: 0, sold: 3 });
    expect((await asBuyer(order.url, PLACE, { input: { items: [{ skuId: skuB, quantity: 8 }], addressId } })).data.placeOrder.code).toBe(
      "OUT_OF_STOCK",
    );
  });

  it("a failure before createOrder leaves the real catalog's stock untouched; one after it (the workflow's pivot) keeps the order and its reservation", async () => {
    for (const [step, kept] of [
      ["reserveStock", false],
      ["createOrder", true],
    ] as const) {
      const before = await stock(skuA);
      order.services.hooks.placeOrder = {
        afterStep: (id) => {
          if (id === step) throw new Error("injected");
        },
      };
      try {
        const r = await asBuyer(order.url, PLACE, { input: { items: [{ skuId: skuA, quantity: 4 }], addressId } });
        if (kept) expect(r.data.placeOrder.code).toBe("OK");
        else expect(r.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
      } finally {
        order.services.hooks.placeOrder = undefined;
      }
      const after = await stock(skuA);
      if (kept) expect(after).toMatchObject({ available: before.available - 4, reserved: before.reserved + 4 });
      else expect(after).toEqual(before);
    }
  });
});
