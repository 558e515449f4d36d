/**
 * Award delivery (real PostgreSQL, Redis, BullMQ; the neighbours' internal fields served by the
 * harness's stand-in subgraph, idempotent per reference like the real ones): COUPON awards granted
 * once per draw, GOODS awards as PRIZE orders or waiting for an address until claimPrize, retries
 * with backoff, FAILED past the budget, operators list and retry, the prize-delivered event.
 */
import { randomUUID } from "node:crypto";
import { waitFor } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRIZE_DELIVERED_TOPIC } from "../src/services/delivery.ts";
import type { AwardDef } from "../src/services/setup.ts";
import { ADMIN, member, startHarness, type Harness } from "./harness.ts";

const DAY = 24 * 3600_000;
const MY_DRAWS = `query MyDraws($activityId: ID) { myDraws(activityId: $activityId) { id award { id name kind } delivery couponId prizeOrderId createdAt } }`;
const ADMIN_DRAWS = `query($a: ID!, $d: AwardDelivery) { adminLotteryDraws(activityId: $a, delivery: $d) { id memberId delivery deliveryAttempts deliveryError } }`;
const RETRY = `mutation($d: ID!) { adminRetryDrawDelivery(drawId: $d) { code draw { id delivery couponId } } }`;
const CLAIM = `mutation($d: ID!, $a: ID!) { claimPrize(drawId: $d, addressId: $a) { code draw { id delivery prizeOrderId } } }`;

let h: Harness;

async function activityOf(award: AwardDef) {
  const name = `d-${randomUUID()}`;
  const strategy = await h.sg.services.setup.saveStrategy({ name, awards: [award], fallback: award.name });
  return h.sg.services.setup.saveActivity({
    name: `a-${name}`,
    strategyId: strategy.id,
    startsAt: new Date(Date.now() - DAY),
    endsAt: new Date(Date.now() + DAY),
    state: "ONLINE",
  });
}
const drawRow = (id: string) => h.sg.services.prisma.participationOrder.findUniqueOrThrow({ where: { id } });
const settled = (id: string, state: string) => waitFor(async () => (await drawRow(id)).delivery === state, `draw ${id} ${state}`);

beforeAll(async () => {
  h = await startHarness({ deliveryBudget: { attempts: 3, backoffMs: 100 } });
});
afterAll(async () => {
  await h?.stop();
});

describe("COUPON awards", () => {
  it("are granted through promotion once per draw: replays and parallel runs never grant twice; myDraws shows the coupon; one event", async () => {
    const activity = await activityOf({ name: "coupon", kind: "COUPON", couponTemplateId: "tpl-10", rate: "1.0000" });
    const r = await h.sg.services.draws.draw("carol", activity.id, "k1");
    await settled(r.orderId!, "DELIVERED");
    const d = await drawRow(r.orderId!);
    expect(d.couponId).toBe(h.fake.coupons.get(`lottery:${r.orderId}`)!.id);
    // A crash after the grant but before it was recorded: the retried job gets the same coupon.
    await h.sg.services.prisma.participationOrder.update({ where: { id: d.id }, data: { delivery: "PENDING", couponId: null } });
    const replays = await Promise.all(Array.from({ length: 10 }, () => h.sg.services.delivery.run(d.id)));
    expect(replays.filter((x) => x === "DELIVERED").length).toBe(1);
    expect((await drawRow(d.id)).couponId).toBe(d.couponId);
    expect([...h.fake.coupons.values()].filter((c) => c.memberId === "carol").length).toBe(1);
    expect(h.fake.grantCalls.filter((c) => c.reference === `lottery:${d.id}`).length).toBeGreaterThanOrEqual(2);
    const mine = await h.gql(MY_DRAWS, { activityId: activity.id }, member("carol"));
    expect(mine.errors).toBeUndefined();
    expect(mine.data.myDraws).toEqual([
      {
        id: d.id,
        award: { id: d.awardId, name: "coupon", kind: "COUPON" },
        delivery: "DELIVERED",
        couponId: d.couponId,
        prizeOrderId: null,
        createdAt: d.createdAt.toISOString(),
      },
    ]);
    // The domain event for the member's message (one per delivery that happened: the replay's).
    const events = await h.sg.services.prisma.lotteryEvent.findMany({ where: { topic: PRIZE_DELIVERED_TOPIC, memberId: "carol" } });
    expect(events.length).toBe(2);
    expect(events[0]!.payload).toMatchObject({
      drawId: d.id,
      memberId: "carol",
      kind: "COUPON",
      couponId: d.couponId,
      awardName: "coupon",
    });
  });

  it("are retried with backoff: two failures, then delivered on the third attempt", async () => {
    const activity = await activityOf({ name: "coupon", kind: "COUPON", couponTemplateId: "tpl-20", rate: "1.0000" });
    h.fake.serviceFailures = 2;
    const r = await h.sg.services.draws.draw("dave", activity.id, "k1");
    await settled(r.orderId!, "DELIVERED");
    const d = await drawRow(r.orderId!);
    expect([d.deliveryAttempts, d.deliveryError, !!d.couponId]).toEqual([3, null, true]);
  });

  it("past the budget are FAILED, listed for operators, and retried by them; a refusal for good fails at once", async () => {
    const activity = await activityOf({ name: "coupon", kind: "COUPON", couponTemplateId: "tpl-30", rate: "1.0000" });
    h.fake.serviceFailures = 1000;
    const r = await h.sg.services.draws.draw("erin", activity.id, "k1");
    try {
      await settled(r.orderId!, "FAILED");
    } finally {
      h.fake.serviceFailures = 0;
    }
    const failed = await h.gql(ADMIN_DRAWS, { a: activity.id, d: "FAILED" }, ADMIN);
    expect(failed.data.adminLotteryDraws).toEqual([
      {
        id: r.orderId,
        memberId: "erin",
        delivery: "FAILED",
        deliveryAttempts: 3,
        deliveryError: expect.stringContaining("INTERNAL_SERVER_ERROR"),
      },
    ]);
    expect((await h.gql(ADMIN_DRAWS, { a: activity.id, d: "DELIVERED" }, ADMIN)).data.adminLotteryDraws).toEqual([]);
    expect((await h.gql(ADMIN_DRAWS, { a: activity.id }, member("erin"))).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const retried = await h.gql(RETRY, { d: r.orderId }, ADMIN);
    expect(retried.data.adminRetryDrawDelivery).toEqual({
      code: "OK",
      draw: { id: r.orderId, delivery: "DELIVERED", couponId: expect.any(String) },
    });
    expect((await h.gql(RETRY, { d: r.orderId }, ADMIN)).data.adminRetryDrawDelivery.code).toBe("NOT_FAILED");
    expect((await h.gql(RETRY, { d: randomUUID() }, ADMIN)).data.adminRetryDrawDelivery).toEqual({ code: "NOT_FOUND", draw: null });
    expect(
      (await h.gql(RETRY, { d: r.orderId }, { kind: "admin", id: "op-2", permissions: ["lottery:read"] })).errors?.[0]?.extensions?.code,
    ).toBe("FORBIDDEN");
    // A sold-out template cannot be fixed by retrying: FAILED after one attempt.
    h.fake.soldOutTemplates.add("tpl-gone");
    const gone = await activityOf({ name: "coupon", kind: "COUPON", couponTemplateId: "tpl-gone", rate: "1.0000" });
    const g = await h.sg.services.draws.draw("erin", gone.id, "k1");
    await settled(g.orderId!, "FAILED");
    expect(await drawRow(g.orderId!)).toMatchObject({
      deliveryAttempts: 1,
      deliveryError: "couponGrant answered SOLD_OUT",
      couponId: null,
    });
    // An unknown template (NOT_FOUND from promotion) too.
    const unknown = await activityOf({ name: "coupon", kind: "COUPON", couponTemplateId: "no-such-template", rate: "1.0000" });
    const u = await h.sg.services.draws.draw("erin", unknown.id, "k1");
    await settled(u.orderId!, "FAILED");
    expect((await drawRow(u.orderId!)).deliveryAttempts).toBe(1);
  });
});

describe("GOODS awards", () => {
  it("become a PRIZE order to the default address", async () => {
    h.fake.defaultAddress.set("frank", "addr-frank");
    const activity = await activityOf({ name: "earbuds", kind: "GOODS", skuId: "sku-earbuds", rate: "1.0000" });
    const r = await h.sg.services.draws.draw("frank", activity.id, "k1");
    await settled(r.orderId!, "DELIVERED");
    const order = h.fake.prizeOrders.get(r.orderId!)!;
    expect(order).toMatchObject({ buyerId: "frank", skuId: "sku-earbuds", addressId: "addr-frank" });
    expect((await drawRow(r.orderId!)).prizeOrderId).toBe(order.id);
    const mine = await h.gql(MY_DRAWS, { activityId: activity.id }, member("frank"));
    expect(mine.data.myDraws[0]).toMatchObject({ delivery: "DELIVERED", prizeOrderId: order.id, couponId: null });
    expect(await h.sg.services.prisma.lotteryEvent.count({ where: { memberId: "frank", topic: PRIZE_DELIVERED_TOPIC } })).toBe(1);
  });

  it("without an address wait as AWAITING_ADDRESS until claimPrize names one of the member's addresses", async () => {
    const activity = await activityOf({ name: "earbuds", kind: "GOODS", skuId: "sku-earbuds", rate: "1.0000" });
    const r = await h.sg.services.draws.draw("gina", activity.id, "k1");
    await settled(r.orderId!, "AWAITING_ADDRESS");
    expect(h.fake.prizeOrders.has(r.orderId!)).toBe(false);
    expect((await h.gql(MY_DRAWS, { activityId: activity.id }, member("gina"))).data.myDraws[0]).toMatchObject({
      delivery: "AWAITING_ADDRESS",
      prizeOrderId: null,
    });
    // Someone else's address: refused, still waiting.
    h.fake.addresses.set("addr-other", "someone");
    expect((await h.gql(CLAIM, { d: r.orderId, a: "addr-other" }, member("gina"))).data.claimPrize).toEqual({
      code: "ADDRESS_NOT_FOUND",
      draw: { id: r.orderId, delivery: "AWAITING_ADDRESS", prizeOrderId: null },
    });
    // Another member cannot claim it.
    expect((await h.gql(CLAIM, { d: r.orderId, a: "addr-other" }, member("someone"))).data.claimPrize).toEqual({
      code: "NOT_FOUND",
      draw: null,
    });
    // Her own address: shipped at once; parallel claims ship once.
    h.fake.addresses.set("addr-gina", "gina");
    const claims = await Promise.all(Array.from({ length: 5 }, () => h.gql(CLAIM, { d: r.orderId, a: "addr-gina" }, member("gina"))));
    const codes = claims.map((c) => c.data.claimPrize.code).sort();
    expect(codes).toEqual(["NOT_AWAITING_ADDRESS", "NOT_AWAITING_ADDRESS", "NOT_AWAITING_ADDRESS", "NOT_AWAITING_ADDRESS", "OK"]);
    const ok = claims.find((c) => c.data.claimPrize.code === "OK")!.data.claimPrize;
    expect(ok.draw).toEqual({ id: r.orderId, delivery: "DELIVERED", prizeOrderId: h.fake.prizeOrders.get(r.orderId!)!.id });
    expect(h.fake.prizeOrders.get(r.orderId!)!.addressId).toBe("addr-gina");
    expect((await h.gql(CLAIM, { d: r.orderId, a: "" }, member("gina"))).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });
});
