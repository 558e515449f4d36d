import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { seckillSkusKey } from "../../cart/src/services/cart.ts";
import { startOrderEnv, PLACE, ORDER, type OrderEnv } from "./support/env.ts";
import { internal } from "./support/fakes.ts";

describe("placeOrder", () => {
  let env: OrderEnv;
  let n = 0;
  let buyer: string;
  let addressId: string;
  const place = (input: Record<string, unknown>, who = buyer) => env.call(PLACE, { input: { addressId, ...input } }, who);
  const orderCount = () => env.order.services.prisma.order.count({ where: { buyerId: buyer } });

  beforeAll(async () => {
    env = await startOrderEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(() => {
    buyer = `b${++n}`;
    addressId = env.memberSg.addAddress(buyer).id;
    env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: 10 });
    env.catalog.put({ id: "cup", title: "Cup", price: "0.10", available: 100 });
    env.catalog.put({ id: "usd", title: "Import", price: "3.00", currency: "USD", available: 100 });
  });

  it("direct buy: server prices (from the one reservation call), stock reserved, order readable by its buyer only", async () => {
    const calls = { ...env.catalog.calls };
    const r = await place({
      items: [
        { skuId: "tea", quantity: 3 },
        { skuId: "cup", quantity: 7 },
        { skuId: "cup", quantity: 1 },
      ],
      note: "ring twice",
      paymentMethod: "SANDBOX",
    });
    expect(r.errors).toBeUndefined();
    const o = r.data.placeOrder.order;
    expect(r.data.placeOrder.code).toBe("OK");
    expect(o.orderNo).toMatch(/^\d{20}$/);
    expect(o).toMatchObject({ status: "PENDING_PAYMENT", currency: "CNY", itemsTotal: "38.30", payable: "38.30" });
    expect(o.items).toEqual([
      { sku: { id: "cup" }, skuId: "cup", title: "Cup", quantity: 8, price: "0.10", subtotal: "0.80" },
      { sku: { id: "tea" }, skuId: "tea", title: "Tea", quantity: 3, price: "12.50", subtotal: "37.50" },
    ]);
    expect(env.catalog.stock("tea")).toEqual({ available: 7, reserved: 3, sold: 0 });
    expect(env.catalog.reservations.get(`order:${o.id}`)?.state).toBe("RESERVED");
    // one catalog call reserves and prices (decision 0049): no snapshot read
    expect([env.catalog.calls.reserve - calls.reserve, env.catalog.calls.snapshots - calls.snapshots]).toEqual([1, 0]);
    const mine = await env.call(ORDER, { id: o.id }, buyer);
    expect(mine.data.order).toEqual({
      id: o.id,
      orderNo: o.orderNo,
      status: "PENDING_PAYMENT",
      payable: "38.30",
      currency: "CNY",
      items: [
        { sku: { id: "cup" }, quantity: 8, price: "0.10" },
        { sku: { id: "tea" }, quantity: 3, price: "12.50" },
      ],
    });
    expect((await env.call(ORDER, { id: o.id }, "someone-else")).data.order).toBeNull();
    expect((await env.call(ORDER, { id: o.id })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const history = await env.order.services.prisma.orderStatusChange.findMany({ where: { orderId: o.id } });
    expect(history.map((h) => h.to)).toEqual(["PENDING_PAYMENT"]);
    expect(await env.order.services.prisma.outbox.count({ where: { id: `event.${history[0]!.id}`, queue: "order-events" } })).toBe(1);
  });

  it("prices through promotion: campaign discounts kept per line; expectedPayable catches a moved price (PRICE_CHANGED, the reservation released); an unusable coupon names its reason", async () => {
    const Q = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { code message quote { itemsTotal discount payable currency }
      order { id itemsTotal discount payable items { skuId subtotal discount payable } } } }`;
    env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: 100 });
    const go = async (input: Record<string, unknown>) =>
      (
        await env.call(
          Q,
          {
            input: {
              addressId,
              items: [
                { skuId: "tea", quantity: 2 },
                { skuId: "cup", quantity: 50 },
              ],
              ...input,
            },
          },
          buyer,
        )
      ).data.placeOrder;
    const day = 24 * 3600_000;
    const promo = env.promotion.services;
    const camp = await promo.campaigns.create(
      {
        name: "满30减3",
        currency: "CNY",
        tiers: [{ threshold: "30", amount: "3" }],
        startsAt: new Date(Date.now() - day).toISOString(),
        endsAt: new Date(Date.now() + day).toISOString(),
      },
      null,
    );
    try {
      // 25.00 + 5.00 = 30.00 → 3.00 off: 2.50 + 0.50 (in proportion)
      const before = env.catalog.stock("tea");
      const released = env.catalog.calls.release;
      const changed = await go({ expectedPayable: "30.00" });
      expect(changed).toEqual({
        code: "PRICE_CHANGED",
        message: expect.any(String),
        quote: { itemsTotal: "30.00", discount: "3.00", payable: "27.00", currency: "CNY" },
        order: null,
      });
      expect(env.catalog.stock("tea")).toEqual(before);
      expect(env.catalog.calls.release - released).toBe(1); // reserved (and priced) first, then released
      expect(await orderCount()).toBe(0);
      for (const bad of ["abc", "27.001", "-1"])
        expect(
          (await env.call(Q, { input: { addressId, items: [{ skuId: "tea", quantity: 1 }], expectedPayable: bad } }, buyer)).errors?.[0]
            ?.extensions?.code,
          bad,
        ).toBe("BAD_USER_INPUT");
      const ok = await go({ expectedPayable: "27.00" });
      expect(ok.code).toBe("OK");
      expect(ok.order).toMatchObject({ itemsTotal: "30.00", discount: "3.00", payable: "27.00" });
      expect(Object.fromEntries(ok.order.items.map((i: any) => [i.skuId, [i.subtotal, i.discount, i.payable]]))).toEqual({
        tea: ["25.00", "2.50", "22.50"],
        cup: ["5.00", "0.50", "4.50"],
      });
      // a coupon that does not apply: refused with the reason, the reservation released
      const t = await promo.couponTemplates.create(
        {
          name: "满100减10",
          type: "FULL_REDUCTION",
          currency: "CNY",
          threshold: "100",
          amount: "10",
          validDays: 3,
          totalQuantity: 5,
          perUserLimit: 1,
        },
        null,
      );
      const coupon = (await promo.coupons.claim(buyer, t.id)).coupon!.id;
      const stock = env.catalog.stock("tea");
      expect(await go({ couponId: coupon })).toMatchObject({
        code: "COUPON_UNAVAILABLE",
        message: expect.stringContaining("THRESHOLD"),
        order: null,
      });
      expect(await go({ couponId: "not-mine" })).toMatchObject({
        code: "COUPON_UNAVAILABLE",
        message: expect.stringContaining("NOT_FOUND"),
      });
      expect(env.catalog.stock("tea")).toEqual(stock);
      // the coupon's threshold is measured after the campaign: 8 teas = 100.00 − 3.00 = 97.00 < 100: refused
      expect((await go({ couponId: coupon, items: [{ skuId: "tea", quantity: 8 }] })).message).toContain("THRESHOLD");
      const big = await go({ couponId: coupon, items: [{ skuId: "tea", quantity: 9 }] }); // 112.50 − 3 = 109.50 ≥ 100 → −10
      expect(big).toMatchObject({
        code: "OK",
        order: {
          itemsTotal: "112.50",
          discount: "13.00",
          payable: "99.50",
          items: [{ skuId: "tea", discount: "13.00", payable: "99.50" }],
        },
      });
      expect((await promo.prisma.coupon.findUniqueOrThrow({ where: { id: coupon } })).status).toBe("LOCKED");
    } finally {
      await promo.campaigns.end(camp.id);
    }
  });

  it("from the cart: buys the checked lines and removes them from the cart", async () => {
    const ADD = `mutation($s: ID!, $q: Int!) { addToCart(skuId: $s, quantity: $q) { code } }`;
    expect((await env.callCart(ADD, { s: "tea", q: 2 }, buyer)).data.addToCart.code).toBe("OK");
    await env.callCart(ADD, { s: "cup", q: 5 }, buyer);
    await env.callCart(`mutation { checkCartItems(skuIds: ["cup"], checked: false) { code } }`, {}, buyer);
    const r = await place({ fromCart: true });
    expect(r.data.placeOrder.code).toBe("OK");
    expect(r.data.placeOrder.order.items.map((i: any) => [i.skuId, i.quantity])).toEqual([["tea", 2]]);
    expect(r.data.placeOrder.order.payable).toBe("25.00");
    const cart = await env.callCart(`{ cart { items { skuId quantity } } }`, {}, buyer);
    expect(cart.data.cart.items).toEqual([{ skuId: "cup", quantity: 5 }]);
    // the unchecked line stayed: nothing checked is left to buy
    expect((await place({ fromCart: true })).data.placeOrder.code).toBe("EMPTY_CART");
  });

  it("an empty (or all-unchecked) cart gives EMPTY_CART", async () => {
    expect((await place({ fromCart: true })).data.placeOrder).toMatchObject({ code: "EMPTY_CART", order: null });
    await env.callCart(`mutation { addToCart(skuId: "tea", quantity: 1) { code } }`, {}, buyer);
    await env.callCart(`mutation { checkCartItems(skuIds: [], checked: false) { code } }`, {}, buyer);
    expect((await place({ fromCart: true })).data.placeOrder.code).toBe("EMPTY_CART");
    expect(await orderCount()).toBe(0);
  });

  it("refuses bad input with a clear code and changes nothing", async () => {
    const before = env.catalog.stock("tea");
    const cases: Array<[Record<string, unknown>, string, string | null]> = [
      [{ items: [{ skuId: "tea", quantity: 0 }] }, "BAD_QUANTITY", "tea"],
      [{ items: [{ skuId: "tea", quantity: -2 }] }, "BAD_QUANTITY", "tea"],
      [{ items: [{ skuId: "tea", quantity: 1000 }] }, "BAD_QUANTITY", "tea"],
      [{ items: [{ skuId: "tea", quantity: 11 }] }, "OUT_OF_STOCK", "tea"],
      [{ items: [{ skuId: "ghost", quantity: 1 }] }, "NOT_FOUND", "ghost"],
      [
        {
          items: [
            { skuId: "tea", quantity: 1 },
            { skuId: "usd", quantity: 1 },
          ],
        },
        "MIXED_CURRENCY",
        null,
      ],
      [{ items: [{ skuId: "tea", quantity: 1 }], addressId: "addr-of-nobody" }, "ADDRESS_NOT_FOUND", null],
    ];
    for (const [input, code, failed] of cases) {
      const r = await place(input);
      expect(r.data.placeOrder, JSON.stringify(input)).toMatchObject({ code, failedSkuId: failed, order: null });
      expect(r.data.placeOrder.message).toBeTruthy();
    }
    env.catalog.put({ id: "old", title: "Old", price: "1.00", available: 5, onShelf: false });
    expect((await place({ items: [{ skuId: "old", quantity: 1 }] })).data.placeOrder.code).toBe("OFF_SHELF");
    await env.order.services.redis.sadd(seckillSkusKey(env.config.REDIS_PREFIX), "cup");
    expect((await place({ items: [{ skuId: "cup", quantity: 1 }] })).data.placeOrder.code).toBe("SECKILL_NOT_ALLOWED");
    await env.order.services.redis.srem(seckillSkusKey(env.config.REDIS_PREFIX), "cup");
    const noItems = await place({ items: [] });
    expect(noItems.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const longNote = await place({ items: [{ skuId: "tea", quantity: 1 }], note: "x".repeat(201) });
    expect(longNote.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(env.catalog.stock("tea")).toEqual(before);
    expect(await orderCount()).toBe(0);
  });

  it("members only: anonymous callers and operators cannot place orders", async () => {
    const input = { addressId, items: [{ skuId: "tea", quantity: 1 }] };
    expect((await env.call(PLACE, { input })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(
      (await env.call(PLACE, { input }, { kind: "admin", id: "op", permissions: ["order:write"] })).errors?.[0]?.extensions?.code,
    ).toBe("UNAUTHENTICATED");
    expect(await orderCount()).toBe(0);
  });

  it("another member's address is refused and nothing is reserved", async () => {
    const other = env.memberSg.addAddress(`${buyer}-neighbour`);
    const before = env.catalog.calls.reserve;
    const r = await place({ items: [{ skuId: "tea", quantity: 1 }], addressId: other.id });
    expect(r.data.placeOrder).toMatchObject({ code: "ADDRESS_NOT_FOUND", order: null });
    expect(env.catalog.calls.reserve).toBe(before);
    expect(await orderCount()).toBe(0);
  });

  it("stock that runs out between check and reserve comes back as OUT_OF_STOCK from the reservation", async () => {
    env.catalog.put({ id: "last", title: "Last one", price: "5.00", available: 1 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => place({ items: [{ skuId: "last", quantity: 1 }], idempotencyKey: `k${i}` })),
    );
    const codes = results.map((r) => r.data.placeOrder.code).sort();
    expect(codes.filter((c) => c === "OK")).toHaveLength(1);
    expect(codes.filter((c) => c === "OUT_OF_STOCK")).toHaveLength(7);
    expect(env.catalog.stock("last")).toEqual({ available: 0, reserved: 1, sold: 0 });
    expect(await orderCount()).toBe(1);
  });

  it("the same idempotency key returns the same order, also for 20 concurrent submits", async () => {
    const input = { items: [{ skuId: "tea", quantity: 1 }], idempotencyKey: "submit-1" };
    const first = await place(input);
    const again = await place(input);
    expect(again.data.placeOrder.order.id).toBe(first.data.placeOrder.order.id);
    const storm = await Promise.all(
      Array.from({ length: 20 }, () => place({ items: [{ skuId: "cup", quantity: 2 }], idempotencyKey: "storm" })),
    );
    const ids = new Set(storm.map((r) => r.data.placeOrder.order?.id));
    expect(storm.every((r) => r.data.placeOrder.code === "OK")).toBe(true);
    expect(ids.size).toBe(1);
    expect(await orderCount()).toBe(2);
    expect(env.catalog.stock("cup").reserved).toBe(2);
    // the same key of another buyer is another order
    const otherBuyer = `${buyer}-x`;
    const otherAddr = env.memberSg.addAddress(otherBuyer).id;
    const other = await env.call(
      PLACE,
      { input: { addressId: otherAddr, items: [{ skuId: "cup", quantity: 1 }], idempotencyKey: "storm" } },
      otherBuyer,
    );
    expect(other.data.placeOrder.order.id).not.toBe([...ids][0]);
  });

  it("a retry answers its order whatever changed since: sold out, address deleted, cart emptied — without reserving again (decision 0050)", async () => {
    env.catalog.put({ id: "rare", title: "Rare", price: "9.90", available: 1 });
    const input = { items: [{ skuId: "rare", quantity: 1 }], idempotencyKey: "retry-1" };
    const first = (await place(input)).data.placeOrder;
    expect(first.code).toBe("OK");
    expect(env.catalog.stock("rare").available).toBe(0);
    // sold out now: the retry is refused by the run's first record (DUPLICATE) before any reservation
    const reserves = env.catalog.calls.reserve;
    const again = (await place(input)).data.placeOrder;
    expect([again.code, again.order?.id]).toEqual(["OK", first.order.id]);
    expect(env.catalog.calls.reserve).toBe(reserves);
    // its address deleted: refused before the run (ADDRESS_NOT_FOUND), which looks for the order first
    env.memberSg.addresses.delete(addressId);
    const moved = (await place(input)).data.placeOrder;
    expect([moved.code, moved.order?.id]).toEqual(["OK", first.order.id]);
    // a new key with the deleted address is still refused
    expect((await place({ ...input, idempotencyKey: "retry-2" })).data.placeOrder).toMatchObject({
      code: "ADDRESS_NOT_FOUND",
      order: null,
    });
    // from the cart: the cart emptied by the order (EMPTY_CART before the run) answers the order too
    addressId = env.memberSg.addAddress(buyer).id;
    await env.callCart(`mutation { addToCart(skuId: "tea", quantity: 2) { code } }`, {}, buyer);
    const fromCart = (await place({ fromCart: true, idempotencyKey: "retry-cart" })).data.placeOrder;
    expect(fromCart.code).toBe("OK");
    const replay = (await place({ fromCart: true, idempotencyKey: "retry-cart" })).data.placeOrder;
    expect([replay.code, replay.order?.id]).toEqual(["OK", fromCart.order.id]);
    // …and a cart filled again since: the run's guard answers the first order, the new lines stay in the cart
    await env.callCart(`mutation { addToCart(skuId: "cup", quantity: 3) { code } }`, {}, buyer);
    const refilled = (await place({ fromCart: true, idempotencyKey: "retry-cart" })).data.placeOrder;
    expect([refilled.code, refilled.order?.id]).toEqual(["OK", fromCart.order.id]);
    const cart = await env.callCart(`{ cart { items { skuId quantity } } }`, {}, buyer);
    expect(cart.data.cart.items).toEqual([{ skuId: "cup", quantity: 3 }]);
    expect(await orderCount()).toBe(2);
    // the retries left no run behind: the buyer's two orders are its only runs
    const runs = await env.order.services.sql.$queryRawUnsafe<Array<{ id: string }>>(
      `SELECT "id" FROM "WorkflowRun" WHERE "state"->>'buyerId' = $1 ORDER BY "id"`,
      buyer,
    );
    expect(runs.map((r) => r.id)).toEqual([first.order.id, fromCart.order.id].map((id) => `placeOrder:${id}`).sort());
  });

  it("internal orderForPayment and its guard", async () => {
    const o = (await place({ items: [{ skuId: "tea", quantity: 2 }] })).data.placeOrder.order;
    const Q = `query($id: ID!) { orderForPayment(id: $id) { id orderNo buyerId status payable currency subject } }`;
    expect((await env.call(Q, { id: o.id }, buyer)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await env.call(Q, { id: o.id }, internal("payment"))).data.orderForPayment).toEqual({
      id: o.id,
      orderNo: o.orderNo,
      buyerId: buyer,
      status: "PENDING_PAYMENT",
      payable: "25.00",
      currency: "CNY",
      subject: "Tea",
    });
    expect((await env.call(Q, { id: "nope" }, internal("payment"))).data.orderForPayment).toBeNull();
  });

  it("myOrders pages newest first", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await place({ items: [{ skuId: "cup", quantity: 1 }] })).data.placeOrder.order.id);
    const Q = `query($after: String) { myOrders(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: any = await env.call(Q, { after }, buyer);
      seen.push(...r.data.myOrders.nodes.map((x: any) => x.id));
      if (!r.data.myOrders.pageInfo.hasNextPage) break;
      after = r.data.myOrders.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const filtered = await env.call(`{ myOrders(status: PAID) { nodes { id } } }`, {}, buyer);
    expect(filtered.data.myOrders.nodes).toEqual([]);
  });

  it("resolves Order entities for its buyer only (_entities contract)", async () => {
    const o = (await place({ items: [{ skuId: "cup", quantity: 1 }] })).data.placeOrder.order;
    const Q = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id orderNo status } } }`;
    const reps = { r: [{ __typename: "Order", id: o.id }] };
    expect((await env.call(Q, reps, buyer)).data._entities).toEqual([{ id: o.id, orderNo: o.orderNo, status: "PENDING_PAYMENT" }]);
    expect((await env.call(Q, reps, internal("payment"))).data._entities[0].id).toBe(o.id);
    expect((await env.call(Q, reps, "intruder")).data._entities).toEqual([null]);
  });
});
