/**
 * Product views are served from process memory (versions checked in Redis on every read): a warm
 * read runs no SQL, and every write — in this process or in another one — is visible on the next
 * read after it commits, also while reads race it.
 */
import { createRedis } from "@mallgraph/platform/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeCatalogServices, createCatalogServices } from "../src/index.ts";
import { buildCatalogServices, type CatalogServices } from "../src/services/index.ts";
import { ADMIN, INTERNAL, ok, startHarness, smallCatalog, type Harness } from "./helpers.ts";

const PRODUCT = `query Product($id: ID!) {
  product(id: $id) { id title status sales skus { id code price stock { available reserved sold } } }
}`;

describe("product cache: warm reads without SQL, every write visible on the next read", () => {
  let h: Harness;
  /** A second catalog instance on the same database and Redis: "another process". */
  let other: CatalogServices;
  let queries = 0;
  let cat: Awaited<ReturnType<typeof smallCatalog>>;
  beforeAll(async () => {
    h = await startHarness({ onQuery: () => queries++ });
    cat = await smallCatalog(h.services, { stock: 10, skus: 2 });
    other = await createCatalogServices({ config: h.config, databaseUrl: h.db.url });
  });
  afterAll(async () => {
    if (other) await closeCatalogServices(other);
    await h?.stop();
  });

  const read = async (id = cat.product.id) => ok<any>(await h.gql(PRODUCT, { id }, ADMIN)).product;
  const sku = async (skuId: string, id = cat.product.id) => (await read(id)).skus.find((k: any) => k.id === skuId);
  const snapshot = async (skuId: string) => (await h.services.products.snapshots([skuId]))[0]!;

  it("a warm read runs no SQL statement", async () => {
    await read();
    await read();
    queries = 0;
    const p = await read();
    expect(queries).toBe(0);
    expect(p.skus).toHaveLength(2);
    // the internal snapshots (order, cart) come from the same views (a SKU's SPU is looked up once)
    await snapshot(cat.product.skus[0]!.id);
    queries = 0;
    expect((await snapshot(cat.product.skus[0]!.id)).available).toBe(10);
    expect(queries).toBe(0);
  });

  it("stock moves by another process are visible on the next read: inbound, reserve, release, confirm, return, expiry", async () => {
    const k = cat.product.skus[0]!.id;
    await read();
    await other.inventory.inbound(k, 5, null, null);
    expect((await sku(k)).stock).toEqual({ available: 15, reserved: 0, sold: 0 });
    expect((await snapshot(k)).available).toBe(15);

    expect((await other.inventory.reserve("cache-r1", [{ skuId: k, quantity: 3 }], 600)).code).toBe("OK");
    expect((await sku(k)).stock).toEqual({ available: 12, reserved: 3, sold: 0 });
    expect((await snapshot(k)).available).toBe(12);

    expect(await other.inventory.release("cache-r1")).toBe(true);
    expect((await sku(k)).stock).toEqual({ available: 15, reserved: 0, sold: 0 });

    const salesBefore = (await read()).sales;
    expect((await other.inventory.reserve("cache-r2", [{ skuId: k, quantity: 4 }], 600)).code).toBe("OK");
    expect(await other.inventory.confirm("cache-r2")).toBe(true);
    const afterConfirm = await read();
    expect(afterConfirm.skus.find((s: any) => s.id === k).stock).toEqual({ available: 11, reserved: 0, sold: 4 });
    expect(afterConfirm.sales).toBe(salesBefore + 4);

    expect(await other.inventory.returnSold("cache-ret", k, 2)).toBe(true);
    expect((await sku(k)).stock).toEqual({ available: 13, reserved: 0, sold: 2 });

    expect((await other.inventory.reserve("cache-exp", [{ skuId: k, quantity: 1 }], 1)).code).toBe("OK");
    expect((await sku(k)).stock.available).toBe(12);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await other.inventory.releaseExpired()).toBeGreaterThanOrEqual(1);
    expect((await sku(k)).stock.available).toBe(13);

    // through the internal GraphQL fields too (what order and promotion call)
    const q = `mutation($key: String!, $lines: [StockLineInput!]!) { inventoryReserve(key: $key, lines: $lines, ttlSeconds: 600) { code } }`;
    expect(ok<any>(await h.gql(q, { key: "cache-gql", lines: [{ skuId: k, quantity: 2 }] }, INTERNAL)).inventoryReserve.code).toBe("OK");
    expect((await sku(k)).stock.available).toBe(11);
  });

  it("status, prices, titles and new SKUs changed by another process are visible on the next read", async () => {
    const k = cat.product.skus[1]!.id;
    await read();
    await other.products.takeOffShelf(cat.product.id);
    expect((await read()).status).toBe("OFF_SHELF");
    expect((await snapshot(k)).onShelf).toBe(false);
    await other.products.putOnShelf(cat.product.id);
    expect((await read()).status).toBe("ON_SHELF");
    expect((await snapshot(k)).onShelf).toBe(true);

    await other.products.updateSku(k, { price: "7777.70" });
    expect((await sku(k)).price).toBe("7777.70");
    expect((await snapshot(k)).price).toBe("7777.70");

    await other.products.update(cat.product.id, { title: "Cached title 2" });
    expect((await read()).title).toBe("Cached title 2");

    const added = await other.products.addSku(cat.product.id, {
      code: "CACHE-NEW",
      title: "new",
      price: "1.00",
      currency: "CNY",
      initialStock: 6,
    });
    expect((await sku(added.id)).stock.available).toBe(6);
    expect((await snapshot(added.id)).available).toBe(6);
  });

  it("reads racing reservations: after each reservation commits the next read shows it", async () => {
    const k = cat.product.skus[0]!.id;
    await h.services.inventory.inbound(k, 100, null, null);
    let expected = (await sku(k)).stock.available as number;
    for (let i = 0; i < 20; i++) {
      const reads = Array.from({ length: 5 }, () => read());
      const r = await other.inventory.reserve(`cache-race-${i}`, [{ skuId: k, quantity: 1 }], 600);
      expect(r.code).toBe("OK");
      expected--;
      await Promise.all(reads);
      expect((await sku(k)).stock.available).toBe(expected);
    }
  });

  it("a storm of 300 reservations (stock 100) interleaved with 300 reads leaves exact counts in the view", async () => {
    const added = await h.services.products.addSku(cat.product.id, {
      code: "CACHE-STORM",
      title: "storm",
      price: "1.00",
      currency: "CNY",
      initialStock: 100,
    });
    await sku(added.id); // warm
    const reserves = Array.from({ length: 300 }, (_v, i) =>
      (i % 2 ? other : h.services).inventory.reserve(`cache-storm-${i}`, [{ skuId: added.id, quantity: 1 }], 600),
    );
    const reads = Array.from({ length: 300 }, () => (Math.random() < 0.5 ? h.services : other).products.loadProducts([cat.product.id]));
    const results = await Promise.all(reserves);
    await Promise.all(reads);
    expect(results.filter((r) => r.code === "OK")).toHaveLength(100);
    for (const s of [h.services, other]) {
      const v = (await s.products.loadSkus([added.id]))[0]!;
      expect(v.stock).toEqual({ available: 0, reserved: 100, sold: 0 });
    }
    expect((await sku(added.id)).stock).toEqual({ available: 0, reserved: 100, sold: 0 });
  });

  it("Redis down: views are served from PostgreSQL", async () => {
    const down = createRedis(h.config.REDIS_URL);
    down.disconnect();
    const s = buildCatalogServices({ config: h.config, prisma: h.services.prisma, redis: down });
    const [v] = await s.products.loadProducts([cat.product.id]);
    expect(v!.category.name).toBe(cat.leaf.name);
    expect(v!.skus.map((k) => k.stock)).toEqual((await h.services.products.loadProducts([cat.product.id]))[0]!.skus.map((k) => k.stock));
    expect((await s.products.snapshots([cat.product.skus[0]!.id]))[0]!.id).toBe(cat.product.skus[0]!.id);
  });

  it("an unknown product is not cached: it appears once created", async () => {
    expect((await h.services.products.loadProducts(["not-yet"]))[0]).toBeNull();
    const p = await other.products.create({
      title: "Late phone",
      categoryId: cat.leaf.id,
      skus: [{ code: "LATE-1", title: "late", price: "2.00", currency: "CNY", initialStock: 1 }],
    });
    expect((await h.services.products.loadProducts([p.id]))[0]!.title).toBe("Late phone");
  });
});
