/**
 * placeOrder is a durable workflow (decision 0031): a placement whose process "dies" after any step
 * (a SimulatedCrash thrown by the test hook: nothing after it runs, nothing is undone) is finished by
 * the order worker's sweep in another runner — undone exactly once before the pivot (createOrder),
 * finished exactly once after it. A compensation that keeps failing ends FAILED, in the operators'
 * query and on /metrics, and the operator's retry finishes it. Two workers sweeping at once take
 * each dead run once.
 */
import { metricsText } from "@mallgraph/platform/metrics";
import { SimulatedCrash } from "@mallgraph/platform/workflow";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PromotionPort } from "../src/services/ports.ts";
import { startWorkers } from "../src/worker.ts";
import { startOrderEnv, waitFor, PLACE, type OrderEnv } from "./support/env.ts";
import { admin } from "./support/fakes.ts";

/** A promotion stand-in that counts effective locks and releases (one coupon per order). */
function countingPromotion() {
  const locked = new Set<string>();
  const counts = { lock: 0, release: 0 };
  const port: PromotionPort = {
    async price(_m, currency, lines, couponId) {
      const total = lines.reduce((a, l) => a + Math.round(Number(l.unitPrice) * 100) * l.quantity, 0);
      const off = couponId ? 100 : 0;
      const fmt = (c: number) => (c / 100).toFixed(2);
      return {
        currency,
        itemsTotal: fmt(total),
        discount: fmt(off),
        payable: fmt(total - off),
        lines: lines.map((l, i) => {
          const sub = Math.round(Number(l.unitPrice) * 100) * l.quantity;
          return { skuId: l.skuId, discount: fmt(i === 0 ? off : 0), payable: fmt(sub - (i === 0 ? off : 0)) };
        }),
        coupon: couponId ? { couponId, discount: fmt(off) } : null,
        couponReason: null,
      };
    },
    async lockCoupon(_m, _c, orderId) {
      if (!locked.has(orderId)) counts.lock++;
      locked.add(orderId);
      return { code: "OK", discount: "1.00", reason: null };
    },
    async releaseCoupon(orderId) {
      if (locked.delete(orderId)) counts.release++;
    },
    async consumeCoupon() {},
  };
  return { port, locked, counts };
}

const WORKFLOW = { leaseMs: 800, backoffMs: 50, maxAttempts: 3 };
const RUNS = `query($s: [WorkflowRunStatus!]) { adminOrderWorkflowRuns(status: $s) { id workflow status step pastPivot attempts lastError state } }`;
const RETRY = `mutation($id: ID!) { adminRetryOrderWorkflowRun(id: $id) { id status attempts lastError } }`;

describe("placeOrder runs are finished by the sweep when their process died", () => {
  let env: OrderEnv;
  const promo = countingPromotion();
  const stops: Array<() => Promise<void>> = [];
  let n = 0;
  let buyer: string;
  let addressId: string;
  const START = 50;

  const worker = async (workflow: Partial<typeof WORKFLOW> = {}) => {
    const stop = await startWorkers(env.config, {
      databaseUrl: env.db.url,
      ports: { promotion: promo.port },
      workflow: { ...WORKFLOW, ...workflow },
      workflowEveryMs: 100,
    });
    stops.push(stop);
    return stop;
  };
  const crashAfter = (step: string) => {
    env.order.services.hooks.placeOrder = {
      afterStep: (id) => {
        if (id === step) throw new SimulatedCrash(id);
      },
    };
  };
  const place = (who: string, input: Record<string, unknown>) =>
    env.call(PLACE, { input: { addressId: env.memberSg.addresses.get(`${who}-home`)?.id ?? addressId, ...input } }, who);
  const runsOf = (who: string) =>
    env.order.services.prisma.workflowRun.findMany({ where: { state: { path: ["buyerId"], equals: who } }, orderBy: { createdAt: "asc" } });
  const statusOf = async (who: string) => (await runsOf(who))[0]?.status;

  beforeAll(async () => {
    env = await startOrderEnv({}, { ports: { promotion: promo.port }, workflow: WORKFLOW });
  });
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(() => {
    buyer = `wf${++n}`;
    addressId = env.memberSg.addAddress(buyer).id;
    env.catalog.put({ id: "tea", title: "Tea", price: "12.50", available: START });
    env.catalog.put({ id: "cup", title: "Cup", price: "0.10", available: START });
  });
  afterEach(async () => {
    env.order.services.hooks.placeOrder = undefined;
    env.catalog.failNext.inventoryRelease = 0;
    while (stops.length) await stops.pop()?.();
  });

  for (const step of ["reserveStock", "priceLines", "lockCoupon"]) {
    it(`killed after ${step} (before the pivot): the sweep releases the stock and the coupon exactly once, no order`, async () => {
      const before = { release: env.catalog.calls.release, coupon: { ...promo.counts } };
      crashAfter(step);
      const r = await place(buyer, { items: [{ skuId: "tea", quantity: 2 }], couponId: "c-1" });
      expect(r.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
      expect(env.catalog.stock("tea")).toEqual({ available: START - 2, reserved: 2, sold: 0 }); // held by the dead run
      expect(await statusOf(buyer)).toBe("RUNNING");
      await worker();
      await waitFor(async () => (await statusOf(buyer)) === "COMPENSATED", "the sweep to compensate the dead run");
      await new Promise((r) => setTimeout(r, 500)); // a few more sweeps: nothing runs twice
      expect(env.catalog.stock("tea")).toEqual({ available: START, reserved: 0, sold: 0 });
      expect(env.catalog.calls.release - before.release).toBe(1);
      expect(promo.counts.release - before.coupon.release).toBe(step === "lockCoupon" ? 1 : 0);
      expect(promo.locked.size).toBe(0);
      expect(await env.order.services.prisma.order.count({ where: { buyerId: buyer } })).toBe(0);
      console.log(`killed after ${step}: compensated once (catalog releases +1, coupon releases +${step === "lockCoupon" ? 1 : 0})`);
    });
  }

  it("killed after createOrder (the pivot) from the cart: the order stands once and the sweep cleans the cart exactly once", async () => {
    await env.callCart(`mutation { addToCart(skuId: "cup", quantity: 3) { code } }`, {}, buyer);
    crashAfter("createOrder");
    const r = await place(buyer, { fromCart: true });
    expect(r.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    const [run] = await runsOf(buyer);
    expect(run).toMatchObject({ status: "RUNNING", pastPivot: true, step: 4 });
    await worker();
    await waitFor(async () => (await statusOf(buyer)) === "COMPLETED", "the sweep to finish the dead run");
    const orders = await env.order.services.prisma.order.findMany({ where: { buyerId: buyer }, include: { items: true } });
    expect(orders.map((o) => [o.status, o.items.map((i) => [i.skuId, i.quantity])])).toEqual([["PENDING_PAYMENT", [["cup", 3]]]]);
    expect(env.catalog.stock("cup")).toEqual({ available: START - 3, reserved: 3, sold: 0 });
    expect((await env.callCart(`{ cart { items { skuId } } }`, {}, buyer)).data.cart.items).toEqual([]);
  });

  it("killed after createOrder on a direct buy: the run completed in the order's own transaction; the sweep has nothing to do", async () => {
    crashAfter("createOrder");
    await place(buyer, { items: [{ skuId: "tea", quantity: 1 }] });
    expect(await statusOf(buyer)).toBe("COMPLETED");
    await worker();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await env.order.services.prisma.order.count({ where: { buyerId: buyer } })).toBe(1);
    expect(env.catalog.stock("tea")).toEqual({ available: START - 1, reserved: 1, sold: 0 });
  });

  it("a compensation that keeps failing ends FAILED in adminOrderWorkflowRuns and on /metrics; the operator's retry finishes it", async () => {
    crashAfter("reserveStock");
    await place(buyer, { items: [{ skuId: "tea", quantity: 4 }] });
    env.catalog.failNext.inventoryRelease = 1000;
    await worker();
    await waitFor(async () => (await statusOf(buyer)) === "FAILED", "the run to run out of attempts");
    const [run] = await runsOf(buyer);
    const listed = await env.call(RUNS, {}, admin(["workflow:read"]));
    expect(listed.errors).toBeUndefined();
    const mine = listed.data.adminOrderWorkflowRuns.filter((r: { id: string }) => r.id === run!.id);
    expect(mine).toEqual([
      {
        id: run!.id,
        workflow: "placeOrder",
        status: "FAILED",
        step: 1, // reserveStock is still to undo
        pastPivot: false,
        attempts: WORKFLOW.maxAttempts,
        lastError: expect.stringMatching(/internal error/), // the fake catalog's failure, masked by its subgraph
        state: expect.stringContaining(`"reservationKey":"order:`),
      },
    ]);
    expect((await env.call(RUNS, {}, admin(["order:read"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await metricsText()).body).toMatch(/mg_workflow_runs\{domain="order",workflow="placeOrder",status="FAILED"\} [1-9]/);
    expect(env.catalog.stock("tea")).toEqual({ available: START - 4, reserved: 4, sold: 0 });

    env.catalog.failNext.inventoryRelease = 0;
    const retried = await env.call(RETRY, { id: run!.id }, admin(["workflow:write"]));
    expect(retried.data.adminRetryOrderWorkflowRun).toMatchObject({ id: run!.id, status: "COMPENSATED", lastError: null });
    expect(env.catalog.stock("tea")).toEqual({ available: START, reserved: 0, sold: 0 });
    expect((await env.call(RETRY, { id: run!.id }, admin(["workflow:write"]))).data.adminRetryOrderWorkflowRun).toBeNull();
    expect((await env.call(RUNS, {}, admin(["workflow:read"]))).data.adminOrderWorkflowRuns.map((r: { id: string }) => r.id)).not.toContain(
      run!.id,
    );
  });

  it("two workers sweeping at once finish each of 12 dead runs once: stock = initial − ordered, one order per run past the pivot", async () => {
    const buyers = Array.from({ length: 12 }, (_, i) => `${buyer}-${i}`);
    for (const b of buyers) env.memberSg.addAddress(b, `${b}-home`);
    // odd ones die after locking the coupon (undone), even ones after writing the order (kept)
    for (const [i, b] of buyers.entries()) {
      crashAfter(i % 2 ? "lockCoupon" : "createOrder");
      if (i % 2 === 0) await env.callCart(`mutation { addToCart(skuId: "cup", quantity: 2) { code } }`, {}, b);
      const r = await place(b, i % 2 ? { items: [{ skuId: "cup", quantity: 2 }], couponId: `c-${i}` } : { fromCart: true });
      expect(r.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    }
    const before = { release: env.catalog.calls.release, coupons: promo.counts.release };
    // The dead runs' leases (800 ms) run out; the sweepers' own leases are long: a sweeper holds a run
    // for one step at a time (its lease renewed before each), and only a step that outlasts the lease
    // lets the other take the run over and repeat that idempotent call (at least once by design) — which
    // would break the exact call counts below on a CPU-starved machine, not what this test is about.
    await Promise.all([worker({ leaseMs: 10_000 }), worker({ leaseMs: 10_000 })]);
    await waitFor(
      async () =>
        (await env.order.services.prisma.workflowRun.count({
          where: { status: { in: ["COMPLETED", "COMPENSATED"] }, state: { path: ["buyerId"], string_starts_with: `${buyer}-` } },
        })) === 12,
      "both workers to finish the 12 runs",
    );
    expect(env.catalog.stock("cup")).toEqual({ available: START - 12, reserved: 12, sold: 0 });
    expect(env.catalog.calls.release - before.release).toBe(6);
    expect(promo.counts.release - before.coupons).toBe(6);
    expect(await env.order.services.prisma.order.count({ where: { buyerId: { in: buyers } } })).toBe(6);
    for (const [i, b] of buyers.entries())
      if (i % 2 === 0) expect((await env.callCart(`{ cart { items { skuId } } }`, {}, b)).data.cart.items).toEqual([]);
  });
});
