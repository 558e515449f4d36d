/**
 * Activity SKUs (packs of bonus draws for points, with a stock) against real PostgreSQL: exactly the
 * stock is sold under a storm of thousands of parallel purchases, each idempotency key buys once,
 * points are never overdrawn, and every sold pack's draws reach the buyer's quota.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, member, startHarness, type Harness } from "./harness.ts";

const DAY = 24 * 3600_000;
const SAVE = `mutation($input: LotteryActivitySkuInput!) { adminSaveLotteryActivitySku(input: $input) { id name draws pricePoints stock stockTotal } }`;
const BUY = `mutation($s: ID!, $k: String!) { buyDrawPack(skuId: $s, idempotencyKey: $k) { code bonusDraws account { balance spent } } }`;

let h: Harness;

async function activity(state: "ONLINE" | "DRAFT" = "ONLINE") {
  const name = `p-${randomUUID()}`;
  const s = await h.sg.services.setup.saveStrategy({
    name,
    awards: [{ name: "only", kind: "NONE", rate: "1.0000" }],
    fallback: "only",
  });
  return h.sg.services.setup.saveActivity({
    name,
    strategyId: s.id,
    startsAt: new Date(Date.now() - DAY),
    endsAt: new Date(Date.now() + DAY),
    state,
  });
}

beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  await h?.stop();
});

describe("activity SKUs", () => {
  it("2,000 parallel purchases (100 members, some keys repeated) of a pack with stock 300: exactly 300 sold, counted exactly", async () => {
    const a = await activity();
    const sku = (await h.gql(SAVE, { input: { activityId: a.id, name: "5 draws", draws: 5, pricePoints: 10, stock: 300 } }, ADMIN)).data
      .adminSaveLotteryActivitySku;
    expect(sku).toMatchObject({ draws: 5, pricePoints: 10, stock: 300, stockTotal: 300 });
    const members = Array.from({ length: 100 }, (_, i) => `buyer-${i}`);
    // 40 points each: at most 4 packs per member, whatever the stock.
    await h.sg.services.prisma.pointsAccount.createMany({ data: members.map((memberId) => ({ memberId, balance: 40, earned: 40 })) });
    // 20 attempts per member: keys k0..k16 distinct, k0 three more times (a retried request).
    const attempts = members.flatMap((m) => [
      ...Array.from({ length: 17 }, (_, i) => ({ m, k: `k${i}` })),
      { m, k: "k0" },
      { m, k: "k0" },
      { m, k: "k0" },
    ]);
    expect(attempts.length).toBe(2000);
    const rs = await Promise.all(attempts.map(({ m, k }) => h.sg.services.packs.buy(m, sku.id, k)));
    const p = h.sg.services.prisma;
    const purchases = await p.activitySkuPurchase.findMany({ where: { skuId: sku.id } });
    // Every member could afford 4: 400 wanted, 300 in stock → exactly 300 sold.
    expect(purchases.length).toBe(300);
    expect((await p.activitySku.findUniqueOrThrow({ where: { id: sku.id } })).stock).toBe(0);
    // Each key bought at most once; the answers agree with the rows.
    expect(new Set(purchases.map((x) => `${x.memberId}:${x.idempotencyKey}`)).size).toBe(300);
    const okKeys = new Set(attempts.filter((_, i) => rs[i]!.code === "OK").map(({ m, k }) => `${m}:${k}`));
    expect(okKeys).toEqual(new Set(purchases.map((x) => `${x.memberId}:${x.idempotencyKey}`)));
    expect(rs.every((r) => ["OK", "SOLD_OUT", "INSUFFICIENT_POINTS"].includes(r.code))).toBe(true);
    // Points: 10 per pack sold, never overdrawn; quota: 5 draws per pack sold.
    const accounts = await p.pointsAccount.findMany({ where: { memberId: { in: members } } });
    expect(accounts.reduce((s, x) => s + x.spent, 0)).toBe(3000);
    expect(accounts.reduce((s, x) => s + x.balance, 0)).toBe(100 * 40 - 3000);
    expect(accounts.every((x) => x.balance >= 0)).toBe(true);
    expect(await p.pointsLedger.count({ where: { memberId: { in: members }, reason: "draw-pack" } })).toBe(300);
    const quotas = await p.quotaAccount.findMany({ where: { activityId: a.id } });
    expect(quotas.reduce((s, q) => s + q.bonus, 0)).toBe(1500);
    for (const q of quotas) expect(q.bonus).toBe(5 * purchases.filter((x) => x.memberId === q.memberId).length);
    // A replay of a key that bought answers OK and changes nothing.
    const one = purchases[0]!;
    const again = await h.gql(BUY, { s: sku.id, k: one.idempotencyKey }, member(one.memberId));
    expect(again.data.buyDrawPack.code).toBe("OK");
    expect((await p.activitySku.findUniqueOrThrow({ where: { id: sku.id } })).stock).toBe(0);
    expect(await p.activitySkuPurchase.count({ where: { skuId: sku.id } })).toBe(300);
    // A new key now: SOLD_OUT, nothing taken.
    const before = await h.sg.services.points.account(one.memberId);
    expect((await h.gql(BUY, { s: sku.id, k: "new" }, member(one.memberId))).data.buyDrawPack).toEqual({
      code: "SOLD_OUT",
      bonusDraws: 5 * purchases.filter((x) => x.memberId === one.memberId).length,
      account: { balance: before.balance, spent: before.spent },
    });
  }, 400_000);

  it("short of points or without an account: INSUFFICIENT_POINTS and nothing written; drafts: NOT_ONLINE; bad input refused", async () => {
    const a = await activity();
    const sku = (await h.gql(SAVE, { input: { activityId: a.id, name: "big", draws: 10, pricePoints: 100, stock: 5 } }, ADMIN)).data
      .adminSaveLotteryActivitySku;
    expect((await h.gql(BUY, { s: sku.id, k: "x" }, member("nobody"))).data.buyDrawPack).toEqual({
      code: "INSUFFICIENT_POINTS",
      bonusDraws: 0,
      account: { balance: 0, spent: 0 },
    });
    await h.sg.services.points.earn("poor", 99, "test", "poor-1");
    expect((await h.gql(BUY, { s: sku.id, k: "x" }, member("poor"))).data.buyDrawPack).toEqual({
      code: "INSUFFICIENT_POINTS",
      bonusDraws: 0,
      account: { balance: 99, spent: 0 },
    });
    expect((await h.sg.services.prisma.activitySku.findUniqueOrThrow({ where: { id: sku.id } })).stock).toBe(5);
    // Bought packs are draws: 10 bonus draws usable once the (empty) regular quota has no room.
    await h.sg.services.points.earn("poor", 1, "test", "poor-2");
    expect((await h.gql(BUY, { s: sku.id, k: "y" }, member("poor"))).data.buyDrawPack).toEqual({
      code: "OK",
      bonusDraws: 10,
      account: { balance: 0, spent: 100 },
    });
    const draft = await activity("DRAFT");
    const d = (await h.gql(SAVE, { input: { activityId: draft.id, name: "draft", draws: 1, pricePoints: 1, stock: 1 } }, ADMIN)).data
      .adminSaveLotteryActivitySku;
    expect((await h.gql(BUY, { s: d.id, k: "z" }, member("poor"))).data.buyDrawPack.code).toBe("NOT_ONLINE");
    for (const input of [{ draws: 0 }, { pricePoints: 0 }, { stock: -1 }, { name: "" }, { activityId: randomUUID() }])
      expect(
        (await h.gql(SAVE, { input: { activityId: a.id, name: "n", draws: 1, pricePoints: 1, stock: 1, ...input } }, ADMIN)).errors?.[0]
          ?.extensions?.code,
      ).toBe("BAD_USER_INPUT");
    expect((await h.gql(BUY, { s: randomUUID(), k: "z" }, member("poor"))).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(
      (await h.gql(SAVE, { input: { activityId: a.id, name: "n", draws: 1, pricePoints: 1, stock: 1 } }, member("poor"))).errors?.[0]
        ?.extensions?.code,
    ).toBe("UNAUTHENTICATED");
    // Listed on the activity.
    const q = await h.gql(`query($id: ID!) { lotteryActivity(id: $id) { skus { name stock stockTotal } } }`, { id: a.id });
    expect(q.data.lotteryActivity.skus).toEqual([{ name: "big", stock: 4, stockTotal: 5 }]);
  });
});
