import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "@mallgraph/platform/config";
import { createTestRedis, type TestRedis } from "@mallgraph/platform/testing";
import { createCartSubgraph } from "../src/index.ts";
import { MAX_LINES, seckillSkusKey } from "../src/services/cart.ts";
import { startFakeCatalog, gql, member, internal, type FakeCatalog } from "../../order/test/support/fakes.ts";

const CART = `{ cart { id items { sku { id } skuId quantity checked unitPrice subtotal currency status } totals { itemsTotal discount payable currency checkedQuantity } } }`;
const ADD = `mutation($skuId: ID!, $quantity: Int!) { addToCart(skuId: $skuId, quantity: $quantity) { code message cart { id items { skuId quantity checked } } } }`;
const UPDATE = `mutation($skuId: ID!, $quantity: Int!) { updateCartItem(skuId: $skuId, quantity: $quantity) { code cart { items { skuId quantity } } } }`;

describe("cart subgraph", () => {
  let redis: TestRedis;
  let catalog: FakeCatalog;
  let sg: Awaited<ReturnType<typeof createCartSubgraph>>;
  let secret: string;
  let n = 0;
  let buyer: string;
  const call = (q: string, v: Record<string, unknown> = {}, who = buyer) => gql(sg.url, secret, q, v, member(who));

  beforeAll(async () => {
    redis = createTestRedis();
    const config = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url } as any);
    secret = config.INTERNAL_SECRET;
    catalog = await startFakeCatalog(secret);
    sg = await createCartSubgraph({ config, port: 0, catalogUrl: catalog.url });
  });
  afterAll(async () => {
    await sg?.stop();
    await catalog?.stop();
    await redis?.cleanup();
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
    const forged = await fetch(sg.url, { method: "POST", headers: { "content-type": "application/json", "x-mg-identity": "x.1.y" }, body: JSON.stringify({ query: CART }) });
    expect(((await forged.json()) as any).errors[0].extensions.code).toBe("UNAUTHENTICATED");
  });

  it("adds, raises and totals exact decimals over checked lines only", async () => {
    expect((await call(ADD, { skuId: "sku-a", quantity: 2 })).data.addToCart.code).toBe("OK");
    expect((await call(ADD, { skuId: "sku-a", quantity: 1 })).data.addToCart.cart.items).toEqual([{ skuId: "sku-a", quantity: 3, checked: true }]);
    await call(ADD, { skuId: "sku-b", quantity: 3 });
    await call(ADD, { skuId: "sku-c", quantity: 1 });
    const unchecked = await call(`mutation { checkCartItems(skuIds: ["sku-c"], checked: false) { code } }`);
    expect(unchecked.data.checkCartItems.code).toBe("OK");
    const { data } = await call(CART);
    expect(data.cart.id).toBe(buyer);
    expect(data.cart.items.map((i: any) => i.skuId)).toEqual(["sku-c", "sku-b", "sku-a"]); // newest first
    const a = data.cart.items.find((i: any) => i.skuId === "sku-a");
    expect(a).toMatchObject({ sku: { id: "sku-a" }, quantity: 3, checked: true, unitPrice: "12.50", subtotal: "37.50", currency: "CNY", status: "OK" });
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
    expect((await call(UPDATE, { skuId: "sku-c", quantity: 1 })).data.updateCartItem).toEqual({ code: "OK", cart: { items: [{ skuId: "sku-c", quantity: 1 }] } });
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
    const key = `${redis.prefix}:{cart}:cart:${buyer}`;
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
    expect((await call(`mutation { clearCart { code cart { items { skuId } totals { itemsTotal } } } }`)).data.clearCart).toEqual({ code: "OK", cart: { items: [], totals: { itemsTotal: "0.00" } } });
    expect((await call(CART, {}, other)).data.cart.items.map((i: any) => i.skuId)).toEqual(["sku-c"]);
  });

  it("internal fields: checked lines and removal, for trusted services only", async () => {
    await call(ADD, { skuId: "sku-a", quantity: 2 });
    await call(ADD, { skuId: "sku-b", quantity: 1 });
    await call(`mutation { checkCartItems(skuIds: ["sku-b"], checked: false) { code } }`);
    const Q = `query($m: ID!) { cartCheckedLines(memberId: $m) { skuId quantity } }`;
    expect((await call(Q, { m: buyer })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await gql(sg.url, secret, Q, { m: buyer }, internal("order"))).data).toEqual({ cartCheckedLines: [{ skuId: "sku-a", quantity: 2 }] });
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
});
