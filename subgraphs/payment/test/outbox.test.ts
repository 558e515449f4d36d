/**
 * Payment status events leave their transaction through the payment outbox: a crash between the
 * commit and the relay (the test hook throws after the commit; no worker runs) loses nothing — the
 * live event, the order's notification and the refund's booking arrive once the worker (and its
 * relay) starts — and a re-delivered job has one effect.
 */
import { createRedis } from "@mallgraph/platform/redis";
import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {} from "./fakes.ts";
import { ADMIN, buyer, startHarness, type Harness } from "./harness.ts";

const CREATE = `mutation($orderId: ID!, $channel: PaymentChannel!) { createPayment(orderId: $orderId, channel: $channel) { code payment { id checkoutRef } } }`;
const REFUND = `mutation($id: ID!, $amount: String!, $reason: String!) { adminRefundPayment(paymentId: $id, amount: $amount, reason: $reason) { code refund { id status } } }`;

let h: Harness;
let sub: ReturnType<typeof createRedis>;
const liveEvents: Array<{ eventId: string; keys: { paymentId: string } }> = [];
const eventsOf = (paymentId: string) => liveEvents.filter((e) => e.keys.paymentId === paymentId);
const crash = () => {
  throw new Error("crashed after commit");
};

beforeAll(async () => {
  h = await startHarness({ workers: false });
  sub = createRedis(h.redis.url);
  await sub.subscribe(`${h.redis.prefix}:events:paymentStatusChanged`);
  sub.on("message", (_c, m) => liveEvents.push(JSON.parse(m)));
});

afterAll(async () => {
  sub?.disconnect();
  await h?.stop();
});

async function pay(buyerId: string, amount: string) {
  const orderId = h.order(buyerId, amount);
  const r = await h.gql(CREATE, { orderId, channel: "SANDBOX" }, buyer(buyerId));
  const payment = r.data.createPayment.payment as { id: string; checkoutRef: string };
  const trade = (await h.sg.services.sandbox.pay(payment.checkoutRef))!;
  const params = await h.sg.services.sandbox.notification(trade);
  const deliver = () =>
    fetch(`http://127.0.0.1:${h.sg.port}/callbacks/sandbox`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params).toString(),
    });
  return { orderId, payment, deliver };
}

/** The pending outbox rows of a payment (its events, its order notification, its refunds' bookings). */
async function pendingJobs(paymentId: string): Promise<string[]> {
  const db = h.sg.services.prisma;
  const ids = [
    ...(await db.paymentEvent.findMany({ where: { paymentId } })).map((e) => e.id),
    ...(await db.refund.findMany({ where: { paymentId } })).map((r) => r.id),
    paymentId,
  ];
  const rows = await db.outbox.findMany({ where: { sentAt: null } });
  return rows
    .filter((r) => ids.some((id) => r.id.endsWith(id)))
    .map((r) => r.name)
    .sort();
}

describe("payment outbox", () => {
  let paid: Awaited<ReturnType<typeof pay>>;
  let closedId: string;
  let refunded: Awaited<ReturnType<typeof pay>>;
  let refundId: string;

  it("a crash after each status change's commit leaves its events in the outbox, nothing sent", async () => {
    // a paid payment: the callback's transaction commits, then the process "crashes"
    paid = await pay("C1", "12.30");
    h.sg.services.hooks.afterCommit = crash;
    expect((await paid.deliver()).status).toBe(500);
    expect((await h.sg.services.prisma.payment.findUniqueOrThrow({ where: { id: paid.payment.id } })).status).toBe("SUCCEEDED");
    // the provider delivers again: a duplicate, nothing more written
    h.sg.services.hooks.afterCommit = undefined;
    expect(await (await paid.deliver()).text()).toBe("success");
    expect(await pendingJobs(paid.payment.id)).toEqual(["notify-paid", "publish-event"]);

    // a closed payment
    const orderId = h.order("C2", "5.00");
    closedId = (await h.gql(CREATE, { orderId, channel: "SANDBOX" }, buyer("C2"))).data.createPayment.payment.id;
    h.sg.services.hooks.afterCommit = crash;
    await expect(h.sg.services.payments.closePayment(closedId, { force: true })).rejects.toThrow(/crashed/);
    expect((await h.sg.services.prisma.payment.findUniqueOrThrow({ where: { id: closedId } })).status).toBe("CLOSED");
    expect(await pendingJobs(closedId)).toEqual(["publish-event"]);

    // a fully refunded payment (paid without a crash; its jobs wait in Redis for the worker)
    h.sg.services.hooks.afterCommit = undefined;
    refunded = await pay("C3", "7.00");
    expect(await (await refunded.deliver()).text()).toBe("success");
    h.sg.services.hooks.afterCommit = crash;
    const r = await h.gql(REFUND, { id: refunded.payment.id, amount: "7.00", reason: "crash test" }, ADMIN);
    expect(r.errors?.[0]?.message ?? "").toMatch(/crashed|unexpected|internal/i);
    h.sg.services.hooks.afterCommit = undefined;
    const refund = await h.sg.services.prisma.refund.findFirstOrThrow({ where: { paymentId: refunded.payment.id } });
    expect(refund.status).toBe("SUCCEEDED");
    refundId = refund.id;
    expect((await h.sg.services.prisma.payment.findUniqueOrThrow({ where: { id: refunded.payment.id } })).status).toBe("REFUNDED");
    expect(await pendingJobs(refunded.payment.id)).toEqual(["notify-refunded", "publish-event"]);

    // nothing reached the order or the live subscribers
    expect(h.state.markPaidCalls.filter((c) => c.orderId === paid.orderId)).toEqual([]);
    expect(h.state.markRefundedCalls).toEqual([]);
    expect(eventsOf(paid.payment.id)).toEqual([]);
    expect(eventsOf(closedId)).toEqual([]);
  });

  it("the worker starts (a restart): every event arrives, once", async () => {
    await h.startWorkers();
    await waitFor(async () => (await h.sg.services.prisma.outbox.count({ where: { sentAt: null } })) === 0, "outbox relayed");
    await waitFor(() => h.state.markPaidCalls.some((c) => c.orderId === paid.orderId), "orderMarkPaid");
    await waitFor(() => h.state.markRefundedCalls.some((c) => c.refundId === refundId), "orderMarkRefunded");
    await waitFor(
      () => eventsOf(paid.payment.id).length === 1 && eventsOf(closedId).length === 1 && eventsOf(refunded.payment.id).length === 2,
      "live events",
    );
    await waitFor(
      async () => (await h.sg.services.prisma.payment.findUniqueOrThrow({ where: { id: paid.payment.id } })).orderNotifiedAt !== null,
      "order notified",
    );
    expect(h.state.orders.get(paid.orderId)!.status).toBe("PAID");
    expect(h.state.markRefundedCalls.filter((c) => c.refundId === refundId)).toHaveLength(1);
    expect(await h.sg.services.prisma.paymentEvent.count({ where: { publishedAt: null } })).toBe(0);
  });

  it("duplicate delivery (relayed again, re-added after BullMQ removed the job, callbacks again) has one effect", async () => {
    const events = await h.sg.services.prisma.paymentEvent.findMany({
      where: { paymentId: { in: [paid.payment.id, closedId, refunded.payment.id] } },
    });
    // the relay runs again over the same rows: same jobIds, BullMQ ignores them
    await h.sg.services.prisma.outbox.updateMany({ data: { sentAt: null } });
    await h.sg.services.jobs.drain();
    // the jobs are delivered again under fresh ids (as after BullMQ removed the completed ones), many at once
    const notify = h.sg.services.queues.notify;
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => [
        notify.add("notify-paid", { paymentId: paid.payment.id }, { jobId: `dup-paid-${i}` }),
        notify.add("notify-refunded", { refundId }, { jobId: `dup-refunded-${i}` }),
        ...events.map((e) => notify.add("publish-event", { eventId: e.id }, { jobId: `dup-event-${e.id}-${i}` })),
      ]).flat(),
    );
    expect(await (await paid.deliver()).text()).toBe("success");
    await waitFor(async () => {
      const c = await notify.getJobCounts("waiting", "active", "delayed");
      return c.waiting + c.active + c.delayed === 0;
    }, "notify queue drained");
    expect(h.state.markPaidCalls.filter((c) => c.orderId === paid.orderId)).toHaveLength(1);
    // the order books a refund once per refund id (payment may ask again; the order's markRefunded is idempotent per refundId)
    expect([...h.state.bookedRefunds]).toEqual([[refundId, "7.00"]]);
    expect(eventsOf(paid.payment.id)).toHaveLength(1);
    expect(eventsOf(closedId)).toHaveLength(1);
    expect(eventsOf(refunded.payment.id)).toHaveLength(2);
    expect(new Set(liveEvents.map((e) => e.eventId)).size).toBe(liveEvents.length);
  });
});
