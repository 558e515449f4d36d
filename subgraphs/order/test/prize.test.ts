/**
 * orderCreatePrize (internal, lottery's award delivery): one PRIZE order per draw however often and
 * however concurrently it is called, price 0 and PAID at once, to the default address (or the one
 * named), shipped by operators like any order; no catalog reservation, no after-sales.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrderEnv, type OrderEnv } from "./support/env.ts";
import { admin, internal } from "./support/fakes.ts";

const CREATE = `mutation($d: ID!, $b: ID!, $s: ID!, $a: ID) { orderCreatePrize(drawId: $d, buyerId: $b, skuId: $s, addressId: $a) { code orderId status } }`;

describe("orderCreatePrize", () => {
  let env: OrderEnv;
  const create = (v: Record<string, unknown>) => env.call(CREATE, { b: "winner", s: "earbuds", ...v }, internal("lottery"));

  beforeAll(async () => {
    env = await startOrderEnv();
    env.catalog.put({ id: "earbuds", title: "Earbuds", price: "299.00", available: 5 });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("without an address: NO_ADDRESS and nothing written; a named address of another member: ADDRESS_NOT_FOUND", async () => {
    expect((await create({ d: "draw-0" })).data.orderCreatePrize).toEqual({ code: "NO_ADDRESS", orderId: null, status: null });
    const other = env.memberSg.addAddress("someone-else");
    expect((await create({ d: "draw-0", a: other.id })).data.orderCreatePrize.code).toBe("ADDRESS_NOT_FOUND");
    expect(await env.order.services.prisma.order.count({ where: { buyerId: "winner" } })).toBe(0);
  });

  it("30 parallel calls for one draw make exactly one PRIZE order: price 0, PAID, default address; operators ship it", async () => {
    const home = env.memberSg.addAddress("winner");
    const reserveCalls = env.catalog.calls.reserve;
    const rs = await Promise.all(Array.from({ length: 30 }, () => create({ d: "draw-1" })));
    expect(rs.every((r) => r.data.orderCreatePrize.code === "OK" && r.data.orderCreatePrize.status === "PAID")).toBe(true);
    expect(new Set(rs.map((r) => r.data.orderCreatePrize.orderId)).size).toBe(1);
    const p = env.order.services.prisma;
    expect(await p.order.count({ where: { buyerId: "winner", idempotencyKey: "prize:draw-1" } })).toBe(1);
    const o = await p.order.findFirstOrThrow({ where: { idempotencyKey: "prize:draw-1" }, include: { items: true } });
    expect([o.kind, o.status, o.payable.toString(), o.itemsTotal.toString(), o.addressId]).toEqual(["PRIZE", "PAID", "0", "0", home.id]);
    expect(o.items.map((i) => [i.skuId, i.quantity, i.price.toString(), i.title])).toEqual([["earbuds", 1, "0", "Earbuds"]]);
    expect(env.catalog.calls.reserve).toBe(reserveCalls);
    // the buyer sees it; no after-sales on a prize
    const seen = await env.call(`query($id: ID!) { order(id: $id) { kind status payable history { to reason } } }`, { id: o.id }, "winner");
    expect(seen.data.order).toEqual({ kind: "PRIZE", status: "PAID", payable: "0.00", history: [{ to: "PAID", reason: "PRIZE" }] });
    const after = await env.call(
      `mutation($o: ID!) { requestAfterSale(orderId: $o, type: REFUND, reason: "no") { code } }`,
      { o: o.id },
      "winner",
    );
    expect(after.data.requestAfterSale.code).toBe("INVALID_STATE");
    const ship = await env.call(
      `mutation($o: ID!) { adminShipOrder(orderId: $o, carrier: "SF", trackingNo: "SF9") { code order { status } } }`,
      { o: o.id },
      admin(),
    );
    expect(ship.data.adminShipOrder).toEqual({ code: "OK", order: { status: "SHIPPED" } });
  });

  it("a named address of the member wins over the default; unknown SKU: NOT_FOUND; members cannot call it", async () => {
    const work = env.memberSg.addAddress("winner");
    const r = (await create({ d: "draw-2", a: work.id })).data.orderCreatePrize;
    expect(r.code).toBe("OK");
    expect((await env.order.services.prisma.order.findUniqueOrThrow({ where: { id: r.orderId } })).addressId).toBe(work.id);
    expect((await create({ d: "draw-3", s: "no-such-sku" })).data.orderCreatePrize.code).toBe("NOT_FOUND");
    expect((await env.call(CREATE, { d: "draw-4", b: "winner", s: "earbuds" }, "winner")).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});
