/**
 * Red-envelope rain creation is a durable workflow (decision 0031): a creation whose process "dies"
 * after a step (a SimulatedCrash from the test hook) is finished by the lottery worker's sweep in
 * another runner — before the pivot (persist) the budget goes back to MARKETING exactly once and no
 * key, job or row of the rain is left; after it the rain opens once and its shares sum to the total.
 * A compensation that keeps failing ends FAILED in adminLotteryWorkflowRuns and on /metrics, and the
 * operator's retry finishes it.
 */
import { metricsText } from "@mallgraph/platform/metrics";
import { Decimal } from "@mallgraph/platform/money";
import { waitFor } from "@mallgraph/platform/testing";
import { SimulatedCrash } from "@mallgraph/platform/workflow";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, member, startHarness, type Harness } from "./harness.ts";

const CREATE = `mutation($input: RedEnvelopeRainInput!) { adminCreateRedEnvelopeRain(input: $input) { id status remainingShares } }`;
const GRAB = `mutation($rainId: ID!) { grabRedEnvelope(rainId: $rainId) { code amount } }`;
const RUNS = `{ adminLotteryWorkflowRuns { id workflow status step pastPivot attempts lastError } }`;
const RETRY = `mutation($id: ID!) { adminRetryLotteryWorkflowRun(id: $id) { id status lastError } }`;
const operator = (permissions: string[]) => ({ kind: "admin" as const, id: "op-1", permissions });

let h: Harness;
let n = 0;

beforeAll(async () => {
  h = await startHarness({ workers: false, workflow: { leaseMs: 800, backoffMs: 50, maxAttempts: 3 }, workflowEveryMs: 100 });
  h.fake.marketing.set("CNY", { balance: new Decimal("10000.00"), frozen: new Decimal(0) });
});
afterAll(async () => {
  await h?.stop();
});
afterEach(async () => {
  h.sg.services.hooks.createRain = undefined;
  h.sg.services.workflows.hooks = {};
  await h.stopWorkers();
});

const create = (title: string, shares = 20) =>
  h.gql(
    CREATE,
    {
      input: {
        title,
        totalAmount: "50.00",
        currency: "CNY",
        shares,
        startsAt: new Date(Date.now() - 1000).toISOString(),
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
      },
    },
    ADMIN,
  );
const crashAfter = (step: string) => {
  h.sg.services.hooks.createRain = {
    afterStep: (id) => {
      if (id === step) throw new SimulatedCrash(id);
    },
  };
};
const runOf = async (title: string) => {
  const runs = await h.sg.services.prisma.workflowRun.findMany({ where: { workflow: "createRain" } });
  return runs.find((r) => (r.state as { title?: string }).title === title);
};
const rainIdOf = async (title: string) => ((await runOf(title))?.state as { rainId: string }).rainId;
const marketing = () => {
  const m = h.fake.marketing.get("CNY")!;
  return [m.balance.toFixed(2), m.frozen.toFixed(2)];
};
const keysOf = (rainId: string) => h.sg.services.redis.keys(`${h.redis.prefix}:{lottery}:rain:${rainId}*`);

describe("a rain creation killed midway is finished by the sweep", () => {
  for (const step of ["freeze", "arm", "scheduleClose"]) {
    it(`killed after ${step} (before the pivot): the budget goes back once, no key, job or row of the rain is left`, async () => {
      const title = `crash-${step}-${++n}`;
      const before = marketing();
      crashAfter(step);
      expect((await create(title)).errors?.[0]?.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
      const rainId = await rainIdOf(title);
      expect(marketing()[1]).toBe(new Decimal(before[1]!).plus(50).toFixed(2));
      await h.startWorkers();
      await waitFor(async () => (await runOf(title))?.status === "COMPENSATED", "the sweep to compensate");
      await new Promise((r) => setTimeout(r, 500)); // more sweeps: nothing is released twice
      expect(marketing()).toEqual(before);
      expect(await keysOf(rainId)).toEqual([]);
      expect(await h.sg.services.queues.rain.getJob(`close-${rainId}`)).toBeUndefined();
      expect(await h.sg.services.prisma.redEnvelopeRain.count({ where: { id: rainId } })).toBe(0);
      expect((await h.gql(GRAB, { rainId }, member(`m-${n}`))).data.grabRedEnvelope.code).toBe("NOT_ONLINE");
    });
  }

  it("killed after persist (the pivot): the sweep opens the rain once; its shares sum to the total", async () => {
    const title = `crash-persist-${++n}`;
    crashAfter("persist");
    await create(title, 10);
    const rainId = await rainIdOf(title);
    expect(await h.sg.services.prisma.redEnvelopeRain.count({ where: { id: rainId } })).toBe(1);
    expect((await h.gql(GRAB, { rainId }, member("early"))).data.grabRedEnvelope.code).toBe("NOT_ONLINE");
    await h.startWorkers();
    await waitFor(async () => (await runOf(title))?.status === "COMPLETED", "the sweep to open the rain");
    const grabs = await Promise.all(Array.from({ length: 12 }, (_, i) => h.gql(GRAB, { rainId }, member(`g-${n}-${i}`))));
    const ok = grabs.map((g) => g.data.grabRedEnvelope).filter((g) => g.code === "OK");
    expect(ok).toHaveLength(10);
    expect(ok.reduce((s, g) => s.plus(g.amount), new Decimal(0)).toFixed(2)).toBe("50.00");
  });
});

describe("a compensation that keeps failing", () => {
  it("ends FAILED in adminLotteryWorkflowRuns and on /metrics; the operator's retry gives the budget back", async () => {
    const title = `stuck-${++n}`;
    const before = marketing();
    crashAfter("arm");
    await create(title);
    const run = (await runOf(title))!;
    const runner = h.sg.services.workflows;
    runner.hooks = {
      beforeCompensate: () => {
        throw new Error("Redis unreachable (injected)");
      },
    };
    await h.sg.services.prisma.workflowRun.update({ where: { id: run.id }, data: { leaseUntil: new Date(0) } });
    await waitFor(async () => (await runner.sweep(), (await runOf(title))?.status === "FAILED"), "FAILED");
    const listed = (await h.gql(RUNS, {}, operator(["workflow:read"]))).data.adminLotteryWorkflowRuns;
    expect(listed.filter((r: { id: string }) => r.id === run.id)).toEqual([
      {
        id: run.id,
        workflow: "createRain",
        status: "FAILED",
        step: 3,
        pastPivot: false,
        attempts: 3,
        lastError: "Redis unreachable (injected)",
      },
    ]);
    expect((await metricsText()).body).toMatch(/mg_workflow_runs\{domain="lottery",workflow="createRain",status="FAILED"\} 1/);
    runner.hooks = {};
    const retried = (await h.gql(RETRY, { id: run.id }, operator(["workflow:write"]))).data.adminRetryLotteryWorkflowRun;
    expect(retried).toMatchObject({ id: run.id, status: "COMPENSATED", lastError: null });
    expect(marketing()).toEqual(before);
    expect(await keysOf((run.state as { rainId: string }).rainId)).toEqual([]);
  });
});
