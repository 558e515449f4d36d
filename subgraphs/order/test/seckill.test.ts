/**
 * orderCreateSeckill (internal, promotion's seckill order worker): one SECKILL order per
 * reservation however often and however concurrently it is called, the short seckill payment
 * time-out, no catalog reservation (the stock already left catalog with the session).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOrderEnv, CANCEL, MARK_PAID, waitFor, type OrderEnv } from "./support/env.ts";
import { internal, member } from "./support/fakes.ts";
import { startWorkers } from "../src/worker.ts";

const CREATE = `mutation($r: ID!, $b: ID!, $s: ID!, $q: Int!, $p: String!, $c: String!, $a: ID) {
  orderCreateSeckill(reservationId: $r, buyerId: $b, skuId: $s, quantity: $q, unitPrice: $p, currency: $c, addressId: $a) { code orderId status }
}`;

describe("orderCreateSeckill (1 s seckill payment time-out in this suite)", () => {
  let env: OrderEnv;
  let stopWorkers: () => Promise<void>;
  const create = (v: Record<string, unknown>) => env.call(CREATE, { b: "sk-buyer", s: "phone", q: 1, p: "999.00", c: "CNY", ...v }, internal("promotion"));

  beforeAll(async () => {
    env = await startOrderEnv({ SECKILL_PAYMENT_TIMEOUT_SECONDS: "1" });
    env.catalog.put({ id: "phone", title: "Phone", price: "4999.00", available: 10 });
    stopWorkers = await startWorkers(env.config, { databaseUrl: env.db.url, outboxEveryMs: 500 });
  });
  afterAll(async () => {
    await stopWorkers?.();
    await env?.stop();
  });

  it("30 parallel calls for one reservation make exactly one SECKILL order at the seckill price; no catalog reservation", async () => {
    const reserveCalls = env.catalog.calls.reserve;
    const results = await Promise.all(Array.from({ length: 30 }, () => create({ r: "res-1", q: 2 })));
    const ids = new Set(results.map((r) => r.data.orderCreateSeckill.orderId));
    expect(results.every((r) => r.data.orderCreateSeckill.code === "OK")).toBe(true);
    expect(ids.size).toBe(1);
    const p = env.order.services.prisma;
    expect(await p.order.count({ where: { seckillReservationId: "res-1" } })).toBe(1);
    const o = await p.order.findFirstOrThrow({ where: { seckillReservationId: "res-1" }, include: { items: true } });
    expect(o.kind).toBe("SECKILL");
    expect(o.buyerId).toBe("sk-buyer");
    expect(o.payable.toString()).toBe("1998");
    expect(o.items.map((i) => [i.skuId, i.quantity, i.price.toString(), i.title])).toEqual([["phone", 2, "999", "Phone"]]);
    expect(env.catalog.calls.reserve).toBe(reserveCalls);
    expect(env.catalog.stock("phone")).toEqual({ available: 10, reserved: 0, sold: 0 });
    // the buyer sees it like any order
    // the buyer sees it like any order (status: PENDING_PAYMENT, or CANCELLED once this suite's 1 s time-out passed)
    const seen = await env.call(`query($id: ID!) { order(id: $id) { id payable kind } }`, { id: o.id }, "sk-buyer");
    expect(seen.data.order).toEqual({ id: o.id, payable: "1998.00", kind: "SECKILL" });
  });

  it("an unpaid seckill order is cancelled after the short time-out; the reservation still maps to that one order", async () => {
    const unpaid = (await create({ r: "res-2" })).data.orderCreateSeckill.orderId;
    const p = env.order.services.prisma;
    await waitFor(async () => (await p.order.findUniqueOrThrow({ where: { id: unpaid } })).status === "CANCELLED", "the seckill time-out");
    expect((await p.order.findUniqueOrThrow({ where: { id: unpaid } })).cancelReason).toBe("PAYMENT_TIMEOUT");
    // the same reservation again answers the (now cancelled) order, never a second one
    expect((await create({ r: "res-2" })).data.orderCreateSeckill).toEqual({ code: "OK", orderId: unpaid, status: "CANCELLED" });
    expect(await p.order.count({ where: { seckillReservationId: "res-2" } })).toBe(1);
    // paying it now is refused (payment then refunds)
    expect((await env.call(MARK_PAID, { o: unpaid, p: "pay-late", c: "SANDBOX" }, internal("payment"))).data.orderMarkPaid.code).toBe("INVALID_STATE");
  });

  it("the buyer may cancel; bad input is refused and writes nothing; members cannot call it", async () => {
    const id = (await create({ r: "res-4" })).data.orderCreateSeckill.orderId;
    expect((await env.call(CANCEL, { id }, "sk-buyer")).data.cancelOrder).toEqual({ code: "OK", order: { id, status: "CANCELLED" } });
    const p = env.order.services.prisma;
    const before = await p.order.count();
    expect((await create({ r: "res-5", q: 0 })).data.orderCreateSeckill.code).toBe("BAD_QUANTITY");
    expect((await create({ r: "res-5", p: "1.234" })).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await create({ r: "res-5", p: "-1" })).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await create({ r: "res-5", c: "XXX" })).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await create({ r: "res-5", a: "no-such-address" })).data.orderCreateSeckill.code).toBe("ADDRESS_NOT_FOUND");
    expect((await env.call(CREATE, { r: "res-5", b: "x", s: "phone", q: 1, p: "1.00", c: "CNY" }, member("x"))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await p.order.count()).toBe(before);
  });
});
