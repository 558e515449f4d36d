import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkers } from "../src/worker.ts";
import { startOrderEnv, PLACE, MARK_PAID, waitFor, type OrderEnv } from "./support/env.ts";
import { internal } from "./support/fakes.ts";

describe("payment time-out (the workers' sweep every second, decision 0051; 1 s time-out in this suite)", () => {
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
    // No race with the 1 s time-out on a loaded machine: the sweep waits (paused queue) until the
    // second order is paid, then runs. No job per order is queued.
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
    }, "the time-out sweep");
    expect(cancelled.cancelReason).toBe("PAYMENT_TIMEOUT");
    await waitFor(async () => env.catalog.stock("tea").reserved === 0, "stock release");
    expect(env.catalog.stock("tea")).toEqual({ available: 8, reserved: 0, sold: 2 });
    expect((await p.order.findUniqueOrThrow({ where: { id: paid.id } })).status).toBe("PAID");
    // the sweep finds nothing left to do, and cancelling it again changes nothing
    expect(await env.order.services.orders.sweepExpired()).toBe(0);
    expect((await env.order.services.orders.cancelIfUnpaid(unpaid.id)).code).toBe("INVALID_STATE");
    expect(await p.orderStatusChange.count({ where: { orderId: unpaid.id, to: "CANCELLED" } })).toBe(1);
    // the next tests drive cancellation themselves: keep the sweep from racing them
    await timeouts.pause();
  });

  it("the sweep cancels only the due unpaid orders, page after page, oldest first; no time-out job is queued", async () => {
    const who = `${buyer}-2`;
    const addressId = env.memberSg.addAddress(who).id;
    env.catalog.put({ id: "cup", title: "Cup", price: "1.00", available: 20 });
    const orders = [];
    for (let i = 0; i < 7; i++)
      orders.push((await env.call(PLACE, { input: { addressId, items: [{ skuId: "cup", quantity: 1 }] } }, who)).data.placeOrder.order);
    const queued = await env.order.services.timeouts.getJobs(["delayed", "waiting", "paused", "prioritized"]);
    expect(new Set(queued.map((j) => j.name))).toEqual(new Set(queued.length ? ["sweep-expired"] : []));
    const p = env.order.services.prisma;
    // five are due (a minute ago), two are not (an hour ahead)
    const due = orders.slice(0, 5).map((o) => o.id);
    await p.order.updateMany({ where: { id: { in: due } }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    await p.order.updateMany({
      where: { id: { in: orders.slice(5).map((o) => o.id) } },
      data: { expiresAt: new Date(Date.now() + 3_600_000) },
    });
    // two at a time: three pages in one run
    expect(await env.order.services.orders.sweepExpired(2)).toBe(5);
    const after = await p.order.findMany({ where: { id: { in: orders.map((o) => o.id) } } });
    for (const o of after) expect([o.id, o.status]).toEqual([o.id, due.includes(o.id) ? "CANCELLED" : "PENDING_PAYMENT"]);
    expect(await env.order.services.orders.sweepExpired(2)).toBe(0);
    await waitFor(async () => env.catalog.stock("cup").reserved === 2, "the due orders' stock released");
    expect(env.catalog.stock("cup")).toEqual({ available: 18, reserved: 2, sold: 0 });
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
