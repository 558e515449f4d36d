/**
 * Redis is not the only copy (decision 0032): every seckill reservation reaches PostgreSQL through the
 * shard streams, and after Redis lost data an item is rebuilt from that copy — no oversell, exactly one
 * order or a release per reservation, limits and idempotency keys kept, reservations Redis still had
 * copied first, reservations found nowhere counted as lost. Real catalog / order subgraphs, PostgreSQL
 * and Redis.
 */
import { registry } from "@mallgraph/platform/metrics";
import { scanKeys } from "@mallgraph/platform/redis";
import { outboxAuditEntries } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { homeShard, parseReservationId, shardKeys } from "../src/services/keys.ts";
import { admin, startPromotionEnv, waitFor, type PromotionEnv } from "./support/env.ts";

const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { code } }`;
const RECONCILE = `mutation($s: ID) { adminReconcileSeckill(sessionId: $s) { items reservations copiedFromRedis lost remainingStock heldStock } }`;

describe("seckill reservations copied to PostgreSQL, and the rebuild after Redis lost data", () => {
  let env: PromotionEnv;
  beforeAll(async () => {
    env = await startPromotionEnv({ pendingAfterMs: 0, reconcileGraceMs: 50 });
  });
  afterAll(async () => {
    await env?.stop();
  });
  const sk = () => env.promotion.services.seckill;
  const redis = () => env.promotion.services.redis;
  const prisma = () => env.promotion.services.prisma;
  let n = 0;
  const buy = (who: string, sid: string, sku: string, key = `k-${n++}`) => sk().buy(who, sid, sku, 1, key);
  const online = async (stock: number, perUserLimit: number, shards: number) => {
    const sku = await env.newSku(stock);
    const sid = await env.createSession([{ skuId: sku, stock, perUserLimit, shards }]);
    await sk().lifecycle();
    return { sid, sku };
  };
  /** Every Redis key of an item (all its shards): what a Redis that restarted empty no longer has. */
  const wipe = async (sid: string, sku: string) => {
    const keys = await scanKeys(redis(), `${env.config.REDIS_PREFIX}:promotion:{seckill:${sid}:${sku}:*`);
    await Promise.all(keys.map((k) => redis().del(k))); // one slot per shard: one DEL each
    return keys.length;
  };
  const ordersOf = (rids: string[]) => env.order.services.prisma.order.findMany({ where: { seckillReservationId: { in: rids } } });
  const lostMetric = async () =>
    (await registry.getSingleMetric("mg_redis_reconcile_total")!.get()).values.find(
      (v) => v.labels.domain === "promotion" && v.labels.kind === "lost",
    )?.value ?? 0;

  it("an item whose keys are gone is found by the workers' check and rebuilt: no oversell, limits and idempotency kept, one order each", async () => {
    const { sid, sku } = await online(100, 1, 4);
    const stop = await env.startWorkers({ ordersOnly: true, claimIdleMs: 500, checkEveryMs: 60_000 });
    try {
      const first = await Promise.all(Array.from({ length: 60 }, (_, i) => buy(`lossy-${i}`, sid, sku, `first-${i}`)));
      expect(first.every((r) => r.code === "OK")).toBe(true);
      const rids = first.map((r) => r.reservationId!);
      await waitFor(
        async () => (await Promise.all(rids.map((r) => sk().readReservation(r)))).every((r) => r?.status === "ORDERED"),
        "60 reservations ORDERED",
      );
      // 5 buyers cancel: their stock and limits go back before the loss
      const orders = await ordersOf(rids);
      for (const o of orders.slice(0, 5)) expect((await env.callOrder(CANCEL, { id: o.id }, o.buyerId)).data.cancelOrder.code).toBe("OK");
      expect(await sk().pollOrdered()).toEqual({ cancelled: 5, paid: 0 });
      await waitFor(async () => (await sk().streamBacklog()) === 0, "the copies caught up");
      expect(await prisma().seckillReservation.count({ where: { sessionId: sid, status: "CANCELLED" } })).toBe(5);

      // Redis restarts without this item's keys
      expect(await wipe(sid, sku)).toBeGreaterThan(0);
      expect((await buy("newcomer", sid, sku)).code).toBe("NOT_ONLINE");
      const report = await sk().reconcileIfLost();
      console.log(
        `[reconcile] wiped every key of one item (4 shards, stock 100, 60 sold, 5 cancelled); rebuilt: ${JSON.stringify(report)}`,
      );
      expect(report).toEqual({ items: 1, reservations: 60, copiedFromRedis: 0, lost: 0, remainingStock: 45, heldStock: 55 });
      expect(await sk().reconcileIfLost()).toBeNull(); // nothing damaged any more
      expect(await sk().remaining(sid, sku)).toBe(45);
      // the reservations read as before; idempotency keys and limits survived
      const kept = orders[10]!;
      const keptRid = kept.seckillReservationId!;
      expect(await sk().readReservation(keptRid)).toMatchObject({ status: "ORDERED", orderId: kept.id });
      const buyer = kept.buyerId;
      const again = first[rids.indexOf(keptRid)]!;
      expect(await buy(buyer, sid, sku, `first-${rids.indexOf(keptRid)}`)).toEqual({
        code: "DUPLICATE",
        reservationId: again.reservationId,
      });
      expect((await buy(buyer, sid, sku)).code).toBe("LIMIT_EXCEEDED");
      // a cancelled buyer may buy again; then a storm takes exactly what is left
      const cancelledBuyer = orders[0]!.buyerId;
      const back = await buy(cancelledBuyer, sid, sku);
      expect(back.code).toBe("OK");
      const storm = await Promise.all(Array.from({ length: 150 }, (_, i) => buy(`after-${i}`, sid, sku)));
      const won = storm.filter((r) => r.code === "OK");
      expect(won.length).toBe(44);
      expect(storm.filter((r) => r.code === "SOLD_OUT").length).toBe(106);
      expect(await sk().remaining(sid, sku)).toBe(0);
      // every reservation: exactly one order (or a release: the 5 cancelled ones)
      const all = [...rids, back.reservationId!, ...won.map((r) => r.reservationId!)];
      await waitFor(async () => (await ordersOf(all)).length === all.length, `${all.length} orders`);
      const made = await ordersOf(all);
      expect(new Set(made.map((o) => o.seckillReservationId)).size).toBe(105);
      expect(made.filter((o) => o.status !== "CANCELLED").length).toBe(100); // = the stock: no oversell
      await waitFor(async () => (await sk().streamBacklog()) === 0, "the copies caught up");
      const copies = await prisma().seckillReservation.findMany({ where: { sessionId: sid } });
      expect(copies.length).toBe(105);
      expect(copies.filter((c) => c.status === "ORDERED").length).toBe(100);
    } finally {
      await stop();
    }
  });

  it("what Redis still had is copied first; a reservation found nowhere is counted as lost, never as sold; operators run it (audited)", async () => {
    const { sid, sku } = await online(20, 1, 1);
    // no worker runs: the reservations are in the stream only
    const made = await Promise.all(Array.from({ length: 9 }, (_, i) => buy(`early-${i}`, sid, sku)));
    expect(made.every((r) => r.code === "OK")).toBe(true);
    expect(await prisma().seckillReservation.count({ where: { sessionId: sid } })).toBe(0);
    // Redis loses one reservation in the middle (seq 5) — its entry, its hash, its place in the lists and its stock
    const k = shardKeys(env.config.REDIS_PREFIX, sid, sku, 0);
    const victim = (
      await Promise.all(
        made.map(async (r) => ({ r, seq: await redis().hget(k.reservation(parseReservationId(r.reservationId!)!.uuid), "seq") })),
      )
    ).find((x) => x.seq === "5")!.r;
    const entries = (await redis().xrange(k.stream, "-", "+")) as Array<[string, string[]]>;
    const entry = entries.find(([, f]) => f.includes(victim.reservationId!))!;
    await redis().xdel(k.stream, entry[0]);
    await redis().del(k.reservation(parseReservationId(victim.reservationId!)!.uuid));
    await redis().zrem(k.pending, victim.reservationId!);
    await redis().incr(k.stock);

    const forbidden = await env.call(RECONCILE, { s: sid }, admin(["promotion:write"]));
    expect(forbidden.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const lostBefore = await lostMetric();
    const r = await env.call(RECONCILE, { s: sid }, admin(["redis:reconcile"]));
    expect(r.errors).toBeUndefined();
    console.log(
      `[reconcile] 9 reservations in the stream only, one of them lost from Redis; operator's run: ${JSON.stringify(r.data.adminReconcileSeckill)}`,
    );
    expect(r.data.adminReconcileSeckill).toEqual({
      items: 1,
      reservations: 8,
      copiedFromRedis: 8,
      lost: 1,
      remainingStock: 12,
      heldStock: 8,
    });
    expect((await lostMetric()) - lostBefore).toBe(1);
    const entriesAudited = await outboxAuditEntries(prisma(), "adminReconcileSeckill");
    expect(entriesAudited.at(-1)).toMatchObject({ actorKind: "admin", actorId: "op-1", args: { sessionId: sid } });
    // the lost one is unknown (its buyer's id reads as nothing); its unit is on sale again, never sold
    expect(await sk().readReservation(victim.reservationId!)).toBeNull();
    expect(await sk().remaining(sid, sku)).toBe(12);
    // the 8 known ones become orders (the rebuild put them back in the stream), the lost one none
    const stop = await env.startWorkers({ ordersOnly: true, claimIdleMs: 500, checkEveryMs: 60_000 });
    try {
      const known = made.filter((m) => m !== victim).map((m) => m.reservationId!);
      await waitFor(async () => (await ordersOf(known)).length === 8, "8 orders");
      expect((await ordersOf([victim.reservationId!])).length).toBe(0);
      // the seq counter went on from the highest: the next reservation is number 10
      const next = await buy("late", sid, sku);
      expect(await redis().hget(k.reservation(parseReservationId(next.reservationId!)!.uuid), "seq")).toBe("10");
    } finally {
      await stop();
    }
  });

  it("a Redis older than its copy (counters behind PostgreSQL) is found damaged; a running rebuild of the same item is refused to operators", async () => {
    const { sid, sku } = await online(10, 2, 2);
    const stop = await env.startWorkers({ ordersOnly: true, claimIdleMs: 500, checkEveryMs: 60_000 });
    const made = await Promise.all(Array.from({ length: 6 }, (_, i) => buy(`older-${i}`, sid, sku)));
    try {
      expect(made.every((r) => r.code === "OK")).toBe(true);
      await waitFor(async () => (await ordersOf(made.map((m) => m.reservationId!))).length === 6, "6 orders");
      await waitFor(async () => (await sk().streamBacklog()) === 0, "the copies caught up");
    } finally {
      await stop();
    }
    expect(await sk().reconcileIfLost()).toBeNull();
    // Redis comes back as it was before the last buys of shard 0: its counter and those reservations are gone
    const k0 = shardKeys(env.config.REDIS_PREFIX, sid, sku, 0);
    const onZero = made.filter((m) => parseReservationId(m.reservationId!)!.shard === 0);
    expect(onZero.length).toBeGreaterThan(0);
    for (const m of onZero) {
      await redis().del(k0.reservation(parseReservationId(m.reservationId!)!.uuid));
      await redis().zrem(k0.ordered, m.reservationId!);
      await redis().incr(k0.stock);
    }
    await redis().set(k0.seq, 0);
    // a rebuild already running (its lock held): operators are told, the check skips it
    await redis().set(k0.reconcile, "someone", "PX", 5000);
    expect((await env.call(RECONCILE, { s: sid }, admin(["redis:reconcile"]))).errors?.[0]?.extensions?.code).toBe("INVALID_STATE");
    expect(await sk().reconcileIfLost()).toEqual({
      items: 0,
      reservations: 0,
      copiedFromRedis: 0,
      lost: 0,
      remainingStock: 0,
      heldStock: 0,
    });
    await redis().del(k0.reconcile);
    const report = await sk().reconcileIfLost();
    expect(report).toEqual({ items: 1, reservations: 6, copiedFromRedis: 0, lost: 0, remainingStock: 4, heldStock: 6 });
    expect(await sk().remaining(sid, sku)).toBe(4);
    for (const m of onZero) expect((await sk().readReservation(m.reservationId!))?.status).toBe("ORDERED");
    const buyer = onZero[0]!;
    const who = (await sk().readReservation(buyer.reservationId!))!.buyerId;
    expect(homeShard(who, 2)).toBe(0);
    expect(await sk().bought(sid, sku, who)).toBe(1);
  });
});
