import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkers } from "../src/worker.ts";
import { startOrderEnv, PLACE, MARK_PAID, waitFor, type OrderEnv } from "./support/env.ts";
import { internal } from "./support/fakes.ts";

describe("payment time-out (BullMQ delayed job, 1 s time-out in this suite)", () => {
  let env: OrderEnv;
  let stopWorkers: () => Promise<void>;
  const buyer = "slowpoke";

  beforeAll(async () => {
    env = await startOrderEnv({ ORDER_PAYMENT_TIMEOUT_SECONDS: "1" });
    stopWorkers = await startWorkers(env.config, { databaseUrl: env.db.url, outboxEveryMs: 500 });
    env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: 10 });
  });
  afterAll(async () => {
    await stopWorkers?.();
    await env?.stop();
  });

  it("cancels an unpaid order when due and gives the stock back; a paid one is left alone", async () => {
    const addressId = env.memberSg.addAddress(buyer).id;
    const place = async (q: number) =>
      (await env.call(PLACE, { input: { addressId, items: [{ skuId: "tea", quantity: q }] } }, buyer)).data.placeOrder.order;
    // No race with the 1 s time-out on a loaded machine: the time-out jobs wait (paused queue)
    // until the second order is paid, then both run.
    const timeouts = env.order.services.timeouts;
    await timeouts.pause();
    const unpaid = await place(3);
    const paid = await place(2);
    expect((await env.call(MARK_PAID, { o: paid.id, p: "p-1", c: "SANDBOX" }, internal("payment"))).data.orderMarkPaid.code).toBe("OK");
    await timeouts.resume();
    const p = env.order.services.prisma;
    const cancelled = await waitFor(async () => {
      const o = await p.order.findUniqueOrThrow({ where: { id: unpaid.id } });
      return o.status === "CANCELLED" ? o : null;
    }, "the time-out job");
    expect(cancelled.cancelReason).toBe("PAYMENT_TIMEOUT");
    await waitFor(async () => env.catalog.stock("tea").reserved === 0, "stock release");
    expect(env.catalog.stock("tea")).toEqual({ available: 8, reserved: 0, sold: 2 });
    expect((await p.order.findUniqueOrThrow({ where: { id: paid.id } })).status).toBe("PAID");
    // the sweep finds nothing left to do, and running the job again changes nothing
    expect(await env.order.services.orders.sweepExpired()).toBe(0);
    expect((await env.order.services.orders.cancelIfUnpaid(unpaid.id)).code).toBe("INVALID_STATE");
    expect(await p.orderStatusChange.count({ where: { orderId: unpaid.id, to: "CANCELLED" } })).toBe(1);
    // the next tests drive cancellation themselves: keep the 1 s time-out jobs from racing them
    await timeouts.pause();
  });

  it("the sweep cancels expired orders whose delayed job was lost", async () => {
    const addressId = env.memberSg.addAddress(`${buyer}-2`).id;
    const o = (await env.call(PLACE, { input: { addressId, items: [{ skuId: "tea", quantity: 1 }] } }, `${buyer}-2`)).data.placeOrder.order;
    await env.order.services.timeouts.remove(`cancel-unpaid-${o.id}`);
    const p = env.order.services.prisma;
    await p.order.update({ where: { id: o.id }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    expect(await env.order.services.orders.sweepExpired()).toBe(1);
    expect((await p.order.findUniqueOrThrow({ where: { id: o.id } })).status).toBe("CANCELLED");
  });

  it("a stock release that fails after a cancel is retried by the follow-up job until it succeeds", async () => {
    const who = `${buyer}-3`;
    const addressId = env.memberSg.addAddress(who).id;
    env.catalog.put({ id: "mug", title: "Mug", price: "3.00", available: 5 });
    const o = (await env.call(PLACE, { input: { addressId, items: [{ skuId: "mug", quantity: 2 }] } }, who)).data.placeOrder.order;
    env.catalog.failNext.inventoryRelease = 2; // the post-commit call and the first retry fail
    const r = await env.call(`mutation($id: ID!) { cancelOrder(id: $id) { code } }`, { id: o.id }, who);
    expect(r.data.cancelOrder.code).toBe("OK");
    await waitFor(async () => env.catalog.stock("mug").reserved === 0, "the retried release");
    expect(env.catalog.stock("mug")).toEqual({ available: 5, reserved: 0, sold: 0 });
    expect(env.catalog.failNext.inventoryRelease).toBe(0);
  });
});
