/**
 * Payment's workflows are durable (decision 0031): a wallet payment or a provider checkout (an order
 * payment or a wallet top-up) whose process "dies" after a step (a SimulatedCrash from the test hook:
 * nothing after it runs, nothing is undone) is finished by the worker's sweep in another runner —
 * closed exactly once (the frozen amount released, the provider's trade closed) before the pivot,
 * finished exactly once after it. A capture that happened just before the death (the pivot is a
 * remote call, recorded with the next step) is found by the compensation: the payment is paid once.
 * A compensation that keeps failing ends FAILED, in adminPaymentWorkflowRuns and on /metrics, and
 * the operator's retry finishes it.
 */
import { metricsText } from "@mallgraph/platform/metrics";
import { Decimal } from "@mallgraph/platform/money";
import { waitFor } from "@mallgraph/platform/testing";
import { SimulatedCrash } from "@mallgraph/platform/workflow";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buyer, startHarness, type Harness } from "./harness.ts";

const CREATE = `mutation($orderId: ID!, $channel: PaymentChannel!) { createPayment(orderId: $orderId, channel: $channel) { code payment { id status } } }`;
const TOP_UP = `mutation($k: String!) { topUpWallet(currency: "CNY", amount: "12.00", channel: SANDBOX, idempotencyKey: $k) { code payment { id status } } }`;
const RUNS = `{ adminPaymentWorkflowRuns { id workflow status step pastPivot attempts lastError } }`;
const RETRY = `mutation($id: ID!) { adminRetryPaymentWorkflowRun(id: $id) { id status attempts lastError } }`;
const OPERATOR = (permissions: string[]) => ({ kind: "admin" as const, id: "op-1", permissions });

let h: Harness;
let n = 0;

beforeAll(async () => {
  h = await startHarness({ workers: false, workflow: { leaseMs: 800, backoffMs: 50, maxAttempts: 3 }, workflowEveryMs: 100 });
});
afterAll(async () => {
  await h?.stop();
});
afterEach(async () => {
  h.sg.services.hooks.workflow = undefined;
  h.sg.services.workflows.hooks = {};
  await h.stopWorkers();
});

const crashAfter = (step: string) => {
  h.sg.services.hooks.workflow = {
    afterStep: (id) => {
      if (id === step) throw new SimulatedCrash(id);
    },
  };
};
const runOf = async (paymentId: string) =>
  h.sg.services.prisma.workflowRun.findFirstOrThrow({ where: { id: { endsWith: `:${paymentId}` } } });
const paymentOf = (orderId: string) => h.sg.services.prisma.payment.findFirstOrThrow({ where: { orderId } });
const callsOf = (paymentId: string) => h.state.walletCalls.filter((c) => c.reference === `pay:${paymentId}`).map((c) => c.op);
const wallet = (id: string) => {
  const w = h.state.wallets.get(`${id}:CNY`)!;
  return [w.balance.toFixed(2), w.frozen.toFixed(2)];
};
const fund = (id: string) => h.state.wallets.set(`${id}:CNY`, { balance: new Decimal("100.00"), frozen: new Decimal(0) });

describe("a wallet payment killed midway is finished by the sweep", () => {
  for (const step of ["freeze", "markFrozen"]) {
    it(`killed after ${step} (before the pivot): the frozen amount is released exactly once and the payment closed`, async () => {
      const who = `WR${++n}`;
      fund(who);
      const orderId = h.order(who, "30.00");
      crashAfter(step);
      const r = await h.gql(CREATE, { orderId, channel: "WALLET" }, buyer(who));
      expect(r.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
      const p = await paymentOf(orderId);
      expect(wallet(who)).toEqual(["70.00", "30.00"]);
      expect((await runOf(p.id)).status).toBe("RUNNING");
      await h.startWorkers();
      await waitFor(async () => (await runOf(p.id)).status === "COMPENSATED", "the sweep to compensate");
      await new Promise((r) => setTimeout(r, 500)); // more sweeps: nothing runs twice
      expect((await paymentOf(orderId)).status).toBe("CLOSED");
      expect(wallet(who)).toEqual(["100.00", "0.00"]);
      expect(callsOf(p.id)).toEqual(["freeze", "freeze", "unfreeze"]);
      expect(h.state.markPaidCalls.filter((c) => c.orderId === orderId)).toEqual([]);
    });
  }

  it("killed right after the capture (the pivot, a remote call not yet recorded): the compensation finds the capture — paid once, the order told once", async () => {
    const who = `WR${++n}`;
    fund(who);
    const orderId = h.order(who, "40.00");
    crashAfter("capture");
    await h.gql(CREATE, { orderId, channel: "WALLET" }, buyer(who));
    const p = await paymentOf(orderId);
    expect(p.status).toBe("PENDING");
    expect(wallet(who)).toEqual(["60.00", "0.00"]);
    await h.startWorkers();
    await waitFor(async () => (await runOf(p.id)).status === "COMPENSATED", "the sweep");
    await waitFor(() => h.state.orders.get(orderId)!.status === "PAID", "the order told");
    expect((await paymentOf(orderId)).status).toBe("SUCCEEDED");
    expect(wallet(who)).toEqual(["60.00", "0.00"]);
    expect(callsOf(p.id).filter((c) => c === "capture")).toHaveLength(2); // the lost one and the compensation's probe (idempotent)
    expect(h.state.markPaidCalls.filter((c) => c.orderId === orderId).map((c) => c.paymentId)).toEqual([p.id]);
  });

  it("killed after book: the run completed in the booking's own transaction; the payment is paid once", async () => {
    const who = `WR${++n}`;
    fund(who);
    const orderId = h.order(who, "10.00");
    crashAfter("book");
    await h.gql(CREATE, { orderId, channel: "WALLET" }, buyer(who));
    const p = await paymentOf(orderId);
    expect(p.status).toBe("SUCCEEDED");
    expect(await runOf(p.id)).toMatchObject({ status: "COMPLETED", pastPivot: true });
    await h.startWorkers();
    await waitFor(() => h.state.orders.get(orderId)!.status === "PAID", "the order told");
    expect(callsOf(p.id)).toEqual(["freeze", "capture"]);
    expect(wallet(who)).toEqual(["90.00", "0.00"]);
  });
});

describe("a provider checkout (a wallet top-up) killed midway is finished by the sweep", () => {
  it("killed after the provider's checkout, before its payload was recorded (the pivot): the payment and the provider's trade are closed", async () => {
    const who = `TR${++n}`;
    crashAfter("checkout");
    const r = await h.gql(TOP_UP, { k: `k-${who}` }, buyer(who));
    expect(r.errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
    const p = await h.sg.services.prisma.payment.findFirstOrThrow({ where: { buyerId: who } });
    expect((await h.sg.services.sandbox.trade(p.checkoutRef))?.status).toBe("WAIT_PAY");
    await h.startWorkers();
    await waitFor(async () => (await runOf(p.id)).status === "COMPENSATED", "the sweep");
    expect((await h.sg.services.prisma.payment.findUniqueOrThrow({ where: { id: p.id } })).status).toBe("CLOSED");
    expect((await h.sg.services.sandbox.trade(p.checkoutRef))?.status).toBe("CLOSED");
    // asking again with the same key answers the closed payment (one payment per key)
    expect((await h.gql(TOP_UP, { k: `k-${who}` }, buyer(who))).data.topUpWallet.payment).toMatchObject({ id: p.id, status: "CLOSED" });
  });

  it("killed after record: the run completed with the payload; nothing more happens", async () => {
    const who = `TR${++n}`;
    crashAfter("record");
    await h.gql(TOP_UP, { k: `k-${who}` }, buyer(who));
    const p = await h.sg.services.prisma.payment.findFirstOrThrow({ where: { buyerId: who } });
    expect(p.clientPayload).toBeTruthy();
    expect(await runOf(p.id)).toMatchObject({ status: "COMPLETED", pastPivot: true });
    await h.startWorkers();
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.sg.services.prisma.payment.findUniqueOrThrow({ where: { id: p.id } })).status).toBe("PENDING");
  });
});

describe("a compensation that keeps failing", () => {
  it("ends FAILED in adminPaymentWorkflowRuns and on /metrics; the operator's retry releases the wallet", async () => {
    const who = `WF${++n}`;
    fund(who);
    const orderId = h.order(who, "25.00");
    crashAfter("freeze");
    await h.gql(CREATE, { orderId, channel: "WALLET" }, buyer(who));
    const p = await paymentOf(orderId);
    // this process's runner is the "next" one here: its recoveries fail until the cause is gone
    h.sg.services.workflows.hooks = {
      beforeCompensate: () => {
        throw new Error("the wallet is unreachable (injected)");
      },
    };
    await h.sg.services.prisma.workflowRun.updateMany({ where: { id: `walletPayment:${p.id}` }, data: { leaseUntil: new Date(0) } });
    await waitFor(async () => (await h.sg.services.workflows.sweep(), (await runOf(p.id)).status === "FAILED"), "FAILED");
    const listed = (await h.gql(RUNS, {}, OPERATOR(["workflow:read"]))).data.adminPaymentWorkflowRuns;
    expect(listed.filter((r: { id: string }) => r.id === `walletPayment:${p.id}`)).toEqual([
      {
        id: `walletPayment:${p.id}`,
        workflow: "walletPayment",
        status: "FAILED",
        step: 1,
        pastPivot: false,
        attempts: 3,
        lastError: "the wallet is unreachable (injected)",
      },
    ]);
    expect((await metricsText()).body).toMatch(/mg_workflow_runs\{domain="payment",workflow="walletPayment",status="FAILED"\} 1/);
    expect(wallet(who)).toEqual(["75.00", "25.00"]);
    h.sg.services.workflows.hooks = {};
    const retried = (await h.gql(RETRY, { id: `walletPayment:${p.id}` }, OPERATOR(["workflow:write"]))).data.adminRetryPaymentWorkflowRun;
    expect(retried).toMatchObject({ status: "COMPENSATED", lastError: null });
    expect(wallet(who)).toEqual(["100.00", "0.00"]);
    expect((await paymentOf(orderId)).status).toBe("CLOSED");
  });
});
