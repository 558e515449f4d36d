/**
 * Seckill session creation is a durable workflow (decision 0031): a creation whose process "dies"
 * after a step (a SimulatedCrash from the test hook) is finished by the promotion worker's sweep in
 * another runner — before the pivot (persist) the stock goes back to the real catalog exactly once
 * (released while reserved, returned once confirmed), after it the session stands once. A
 * compensation that keeps failing ends FAILED in adminPromotionWorkflowRuns and on /metrics, and the
 * operator's retry finishes it.
 */
import { metricsText } from "@mallgraph/platform/metrics";
import { SimulatedCrash } from "@mallgraph/platform/workflow";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { admin, CREATE_SESSION, startPromotionEnv, waitFor, type PromotionEnv } from "./support/env.ts";

const WORKFLOW = { leaseMs: 800, backoffMs: 50, maxAttempts: 3 };
const RUNS = `{ adminPromotionWorkflowRuns { id workflow status step pastPivot attempts lastError } }`;
const RETRY = `mutation($id: ID!) { adminRetryPromotionWorkflowRun(id: $id) { id status lastError } }`;

describe("seckill session creation runs are finished by the sweep when their process died", () => {
  let env: PromotionEnv;
  const stops: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    env = await startPromotionEnv({ workflow: WORKFLOW });
  });
  afterAll(async () => {
    await env?.stop();
  });
  afterEach(async () => {
    env.promotion.services.hooks.createSession = undefined;
    env.promotion.services.workflows.hooks = {};
    while (stops.length) await stops.pop()?.();
  });

  const create = (skuId: string, stock: number) =>
    env.call(
      CREATE_SESSION,
      {
        input: {
          title: "Crash sale",
          startsAt: new Date(Date.now() + 3600_000).toISOString(),
          endsAt: new Date(Date.now() + 7200_000).toISOString(),
          items: [{ skuId, seckillPrice: "9.90", stock, perUserLimit: 1 }],
        },
      },
      admin(),
    );
  const crashAfter = (step: string) => {
    env.promotion.services.hooks.createSession = {
      afterStep: (id) => {
        if (id === step) throw new SimulatedCrash(id);
      },
    };
  };
  const runFor = async (skuId: string) => {
    const runs = await env.promotion.services.prisma.workflowRun.findMany({ where: { workflow: "createSeckillSession" } });
    return runs.find((r) => JSON.stringify(r.state).includes(skuId));
  };
  const sessionsWith = (skuId: string) => env.promotion.services.prisma.seckillItem.count({ where: { skuId } });
  const worker = async () => stops.push(await env.startWorkers({ workflow: WORKFLOW, workflowEveryMs: 100 }));

  for (const [step, reservedOrSold] of [
    ["allocate", { available: 20, reserved: 8, sold: 0 }],
    ["confirm", { available: 20, reserved: 0, sold: 8 }],
  ] as const) {
    it(`killed after ${step} (before the pivot): the stock goes back to catalog exactly once, no session`, async () => {
      const sku = await env.newSku(28);
      crashAfter(step);
      expect((await create(sku, 8)).errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
      expect(await env.stock(sku)).toEqual(reservedOrSold);
      expect((await runFor(sku))?.status).toBe("RUNNING");
      await worker();
      await waitFor(async () => (await runFor(sku))?.status === "COMPENSATED", "the sweep to compensate");
      await new Promise((r) => setTimeout(r, 500)); // more sweeps: nothing is given back twice
      expect(await env.stock(sku)).toEqual({ available: 28, reserved: 0, sold: 0 });
      expect(await sessionsWith(sku)).toBe(0);
    });
  }

  it("killed after persist (the pivot): the run completed with the session; the sweep changes nothing", async () => {
    const sku = await env.newSku(10);
    crashAfter("persist");
    await create(sku, 4);
    expect((await runFor(sku))?.status).toBe("COMPLETED");
    await worker();
    await new Promise((r) => setTimeout(r, 800));
    expect(await sessionsWith(sku)).toBe(1);
    expect(await env.stock(sku)).toEqual({ available: 6, reserved: 0, sold: 4 });
  });

  it("a compensation that keeps failing ends FAILED in adminPromotionWorkflowRuns and on /metrics; the operator's retry gives the stock back", async () => {
    const sku = await env.newSku(12);
    crashAfter("confirm");
    await create(sku, 5);
    const run = (await runFor(sku))!;
    const runner = env.promotion.services.workflows;
    runner.hooks = {
      beforeCompensate: () => {
        throw new Error("catalog unreachable (injected)");
      },
    };
    await env.promotion.services.prisma.workflowRun.update({ where: { id: run.id }, data: { leaseUntil: new Date(0) } });
    await waitFor(async () => (await runner.sweep(), (await runFor(sku))?.status === "FAILED"), "FAILED");
    const listed = (await env.call(RUNS, {}, admin(["workflow:read"]))).data.adminPromotionWorkflowRuns;
    expect(listed.filter((r: { id: string }) => r.id === run.id)).toEqual([
      {
        id: run.id,
        workflow: "createSeckillSession",
        status: "FAILED",
        step: 1,
        pastPivot: false,
        attempts: 3,
        lastError: "catalog unreachable (injected)",
      },
    ]);
    expect((await metricsText()).body).toMatch(/mg_workflow_runs\{domain="promotion",workflow="createSeckillSession",status="FAILED"\} 1/);
    expect(await env.stock(sku)).toEqual({ available: 7, reserved: 0, sold: 5 });
    runner.hooks = {};
    const retried = (await env.call(RETRY, { id: run.id }, admin(["workflow:write"]))).data.adminRetryPromotionWorkflowRun;
    expect(retried).toMatchObject({ id: run.id, status: "COMPENSATED", lastError: null });
    expect(await env.stock(sku)).toEqual({ available: 12, reserved: 0, sold: 0 });
  });
});
