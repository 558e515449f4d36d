/**
 * NEW_USER coupons at registration: after the registration commits, a `member-registered` job
 * (`issue-new-user-coupons`, one per member) calls promotion's internal couponIssueNewUser, retried
 * with backoff until promotion answers. Promotion here is a tiny REAL subgraph in-process (the same
 * internal field over in-memory state), on a port that starts out closed. The job leaves the
 * registration's transaction through member's outbox: a crash after the commit loses nothing.
 */
import net from "node:net";
import { assertInternal } from "@mallgraph/platform/access";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueNewUserCouponsProcessor } from "../src/jobs/issueNewUserCoupons.ts";
import { ISSUE_NEW_USER_COUPONS, issueNewUserCouponsJobId } from "../src/services/job-contracts.ts";
import { startWorkers } from "../src/worker.ts";
import { createHarness, registerMember, waitFor, type Harness } from "./helpers.ts";

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Promotion stand-in: couponIssueNewUser, idempotent per member; can fail or hold its answers. */
function promotionState() {
  return {
    calls: [] as string[],
    issued: new Set<string>(),
    failNext: 0,
    gate: null as Promise<void> | null,
    callsFor(memberId: string) {
      return this.calls.filter((c) => c === memberId).length;
    },
  };
}

async function startPromotion(state: ReturnType<typeof promotionState>, port: number, secret: string): Promise<RunningSubgraph> {
  return startSubgraph({
    name: "promotion-stub",
    typeDefs: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { issuedNewUserCoupons(memberId: ID!): Boolean! }
      type Mutation { couponIssueNewUser(memberId: ID!): Int! }`,
    resolvers: {
      Query: { issuedNewUserCoupons: (_: unknown, a: { memberId: string }) => state.issued.has(a.memberId) },
      Mutation: {
        couponIssueNewUser: async (_: unknown, { memberId }: { memberId: string }, ctx: any) => {
          assertInternal(ctx);
          state.calls.push(memberId);
          if (state.gate) await state.gate;
          if (state.failNext > 0) {
            state.failNext -= 1;
            throw new Error("promotion is having a bad moment");
          }
          if (state.issued.has(memberId)) return 0;
          state.issued.add(memberId);
          return 1; // one NEW_USER template
        },
      },
    },
    port,
    host: "127.0.0.1",
    internalSecret: secret,
    context: (base) => base,
  });
}

describe("NEW_USER coupons at registration", () => {
  let h: Harness;
  let port: number;
  let promotion: RunningSubgraph | undefined;
  const state = promotionState();
  const job = (memberId: string) => h.sg.services.queues.memberRegistered.getJob(issueNewUserCouponsJobId(memberId));
  const completed = (memberId: string) =>
    waitFor(async () => ((await (await job(memberId))?.isCompleted()) ? job(memberId) : null), `the coupon job of ${memberId} to complete`);

  beforeAll(async () => {
    port = await freePort();
    h = await createHarness({ workers: true, env: { PROMOTION_URL: `http://127.0.0.1:${port}/graphql` } });
  });
  afterAll(async () => {
    await h?.close();
    await promotion?.stop();
  });

  it("registration succeeds while promotion is down; the job is retried and delivered once promotion is up", async () => {
    const m = await registerMember(h, { password: "Str0ng-pass!" });
    expect(m.memberId).toBeTruthy();
    expect(await h.sg.services.prisma.member.count({ where: { id: m.memberId } })).toBe(1);
    expect(await h.sg.services.prisma.walletAccount.count({ where: { memberId: m.memberId } })).toBeGreaterThan(0);
    // the first attempt found promotion unreachable and is scheduled again
    const failed = await waitFor(async () => {
      const j = await job(m.memberId);
      return j && j.attemptsMade >= 1 && j.failedReason ? j : null;
    }, "the first failed attempt");
    expect(failed.name).toBe(ISSUE_NEW_USER_COUPONS);
    expect(failed.failedReason).toMatch(/unreachable/);
    expect(state.calls).toEqual([]);

    promotion = await startPromotion(state, port, h.config.INTERNAL_SECRET);
    const done = await completed(m.memberId);
    expect(done!.returnvalue).toEqual({ memberId: m.memberId, issued: 1 });
    expect(done!.attemptsMade).toBeGreaterThanOrEqual(2);
    expect(state.callsFor(m.memberId)).toBe(1);
    expect(state.issued.has(m.memberId)).toBe(true);
  });

  it("register → couponIssueNewUser is called exactly once per member (parallel registrations; a second enqueue is ignored)", async () => {
    const members = await Promise.all(Array.from({ length: 6 }, () => registerMember(h)));
    for (const m of members) {
      const done = await completed(m.memberId);
      expect(done!.returnvalue).toEqual({ memberId: m.memberId, issued: 1 });
    }
    const counts = await h.sg.services.queues.memberRegistered.getJobCounts("completed", "waiting", "delayed", "active", "failed");
    // enqueueing again for the same member finds the existing job: no new job, no new call
    const again = await h.sg.services.queues.memberRegistered.add(
      ISSUE_NEW_USER_COUPONS,
      { memberId: members[0]!.memberId },
      { jobId: issueNewUserCouponsJobId(members[0]!.memberId) },
    );
    expect(again.id).toBe(issueNewUserCouponsJobId(members[0]!.memberId));
    expect(await h.sg.services.queues.memberRegistered.getJobCounts("completed", "waiting", "delayed", "active", "failed")).toEqual(counts);
    for (const m of members) expect(state.callsFor(m.memberId)).toBe(1);
    expect(new Set(members.map((m) => m.memberId)).size).toBe(6);
  });

  it("an error answer from promotion is retried; the member ends up with its coupons once", async () => {
    state.failNext = 1;
    const m = await registerMember(h);
    const done = await completed(m.memberId);
    expect(done!.returnvalue).toEqual({ memberId: m.memberId, issued: 1 });
    expect(done!.attemptsMade).toBe(2);
    expect(state.callsFor(m.memberId)).toBe(2); // one failed, one issued
    expect(state.issued.has(m.memberId)).toBe(true);
  });

  it("registration does not wait for promotion (promotion holding its answer)", async () => {
    let release!: () => void;
    state.gate = new Promise<void>((r) => (release = r));
    try {
      const m = await registerMember(h); // returns although promotion has not answered
      await waitFor(() => state.callsFor(m.memberId) === 1, "the call to reach promotion");
      expect(state.issued.has(m.memberId)).toBe(false);
      state.gate = null;
      release();
      const done = await completed(m.memberId);
      expect(done!.returnvalue).toEqual({ memberId: m.memberId, issued: 1 });
      expect(state.callsFor(m.memberId)).toBe(1);
    } finally {
      state.gate = null;
      release();
    }
  });

  it("a malformed job is not retried", async () => {
    const p = issueNewUserCouponsProcessor({ issue: async () => 1 });
    await expect(p({ id: "x", data: {} as any })).rejects.toThrow(/malformed/);
    await expect(p({ id: "x", data: { memberId: "m1" } })).resolves.toEqual({ memberId: "m1", issued: 1 });
  });
});

describe("NEW_USER coupons through the outbox: a crash after the registration commits", () => {
  let h: Harness;
  let promotion: RunningSubgraph;
  let stopRestarted = async () => {};
  const state = promotionState();
  const queue = () => h.sg.services.queues.memberRegistered;

  beforeAll(async () => {
    const port = await freePort();
    // The workers' relay runs once at start, then not for an hour: only the post-commit relay would send a row.
    h = await createHarness({ workers: { relayEveryMs: 3_600_000 }, env: { PROMOTION_URL: `http://127.0.0.1:${port}/graphql` } });
    promotion = await startPromotion(state, port, h.config.INTERNAL_SECRET);
  });
  afterAll(async () => {
    await stopRestarted();
    await h?.close();
    await promotion?.stop();
  });

  it("the member is registered, the coupon job waits in the outbox; a restarted worker's relay sends it, promotion is called once", async () => {
    h.sg.services.hooks.afterRegistration = () => {
      throw new Error("crashed after commit");
    };
    const members = await Promise.all(Array.from({ length: 4 }, () => registerMember(h)));
    h.sg.services.hooks.afterRegistration = undefined;
    const ids = members.map((m) => m.memberId);
    const rows = await h.sg.services.prisma.outbox.findMany({ where: { id: { in: ids.map(issueNewUserCouponsJobId) } } });
    expect(rows.map((r) => [r.queue, r.name, r.sentAt, (r.data as { memberId: string }).memberId]).sort()).toEqual(
      ids.map((id) => ["member-registered", ISSUE_NEW_USER_COUPONS, null, id]).sort(),
    );
    for (const id of ids) expect(await queue().getJob(issueNewUserCouponsJobId(id))).toBeUndefined();
    expect(state.calls).toEqual([]);

    // the process comes back: a worker starts, its relay runs
    stopRestarted = await startWorkers(h.config);
    for (const id of ids) {
      const done = await waitFor(
        async () =>
          (await (await queue().getJob(issueNewUserCouponsJobId(id)))?.isCompleted()) ? queue().getJob(issueNewUserCouponsJobId(id)) : null,
        `the coupon job of ${id}`,
      );
      expect(done!.returnvalue).toEqual({ memberId: id, issued: 1 });
      expect(state.callsFor(id)).toBe(1);
    }
    expect(await h.sg.services.jobs.pending()).toBe(0);
  });

  it("relayed again, the rows add no job (same jobIds); the post-commit path still works", async () => {
    const before = await queue().getJobCounts("completed", "waiting", "delayed", "active", "failed");
    await h.sg.services.prisma.outbox.updateMany({ data: { sentAt: null } });
    expect(await h.sg.services.jobs.drain()).toBeGreaterThan(0);
    expect(await queue().getJobCounts("completed", "waiting", "delayed", "active", "failed")).toEqual(before);
    const m = await registerMember(h);
    await waitFor(() => state.callsFor(m.memberId) === 1, "the post-commit relay's job to reach promotion");
    expect(state.calls.length).toBe(5);
  });
});
