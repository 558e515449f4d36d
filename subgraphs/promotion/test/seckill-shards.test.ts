/**
 * Seckill stock split over Redis shards (docs/decisions/0012-seckill-stock-shards.md), against the
 * REAL catalog and order subgraphs, real PostgreSQL and Redis: the keys of one script call share a
 * Cluster slot and different shards do not; the home-shard hit is one EVALSHA; a storm on 8 shards
 * gives exactly `stock` winners and exact per-user limits; a sold-out home takes stock from another
 * shard; a process dying between the steps loses nothing; operators cancel and edit sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { homeShard, parseReservationId, seckillSkusKey, shardKeys, splitStock } from "../src/services/keys.ts";
import { startPromotionEnv, admin, type PromotionEnv } from "./support/env.ts";

/** Redis Cluster's key slot: CRC16 (XMODEM) of the hash tag, mod 16384. */
function keySlot(key: string): number {
  const open = key.indexOf("{");
  const close = open >= 0 ? key.indexOf("}", open + 1) : -1;
  const s = open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const b of Buffer.from(s)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe("seckill stock shards", () => {
  let env: PromotionEnv;
  beforeAll(async () => {
    env = await startPromotionEnv({ holdAfterMs: 0, pendingAfterMs: 0 });
  });
  afterAll(async () => {
    await env?.stop();
  });
  const sk = () => env.promotion.services.seckill;
  const redis = () => env.promotion.services.redis;
  let n = 0;
  const buy = (who: string, sid: string, sku: string, q = 1) => sk().buy(who, sid, sku, q, `k-${n++}`);
  /** Members whose home shard is `shard` of `shards`. */
  const homedAt = (shard: number, shards: number, count: number, prefix: string) => {
    const out: string[] = [];
    for (let i = 0; out.length < count; i++) if (homeShard(`${prefix}-${i}`, shards) === shard) out.push(`${prefix}-${i}`);
    return out;
  };
  const online = async (stock: number, perUserLimit: number, shards: number) => {
    const sku = await env.newSku(stock);
    const sid = await env.createSession([{ skuId: sku, stock, perUserLimit, shards }]);
    await sk().lifecycle();
    return { sid, sku };
  };
  /** Every shard's leftovers: holds, unsettled takes, counters. */
  const shardState = async (sid: string, sku: string, shards: number) =>
    Promise.all(
      Array.from({ length: shards }, async (_, i) => {
        const k = shardKeys(env.config.REDIS_PREFIX, sid, sku, i);
        const [stock, holds, takes, bought, open] = await Promise.all([
          redis().get(k.stock),
          redis().zcard(k.holds),
          redis().zcard(k.takesAt),
          redis().hvals(k.bought),
          redis().get(k.open),
        ]);
        return { stock: Number(stock), holds, takes, bought: bought.reduce((a, b) => a + Number(b), 0), open: Number(open ?? 0) };
      }),
    );

  it("keys of one script call share a slot, shards do not; stock split evenly; the home-shard hit is ONE EVALSHA", async () => {
    expect(splitStock(10, 4)).toEqual([3, 3, 2, 2]);
    expect(splitStock(3, 3)).toEqual([1, 1, 1]);
    const slotsOf = (sid: string, sku: string, i: number) => {
      const k = shardKeys("mg", sid, sku, i);
      return new Set(
        [
          k.meta,
          k.stock,
          k.bought,
          k.idem("m", "x"),
          k.reservation("u"),
          k.pending,
          k.ordered,
          k.holds,
          k.takes,
          k.takesAt,
          k.open,
          k.returned,
          k.seq,
          k.stream,
        ].map(keySlot),
      );
    };
    for (let i = 0; i < 8; i++) expect(slotsOf("s-1", "k-1", i).size).toBe(1);
    expect(new Set(Array.from({ length: 8 }, (_, i) => [...slotsOf("s-1", "k-1", i)][0])).size).toBe(8);
    expect(shardKeys("mg", "s-1", "k-1", 3).stock).toBe("mg:promotion:{seckill:s-1:k-1:3}:stock");

    const { sid, sku } = await online(40, 5, 4);
    expect((await sk().getSessions([sid]))[0]!.items[0]).toMatchObject({ stock: 40, remaining: 40, shards: 4 });
    await buy("warm-up", sid, sku); // the item's layout is read once per process
    const sent: string[] = [];
    const r = redis() as any;
    const original = r.sendCommand;
    r.sendCommand = function (cmd: { name: string }, ...rest: unknown[]) {
      sent.push(cmd.name);
      return original.call(this, cmd, ...rest);
    };
    try {
      expect((await buy("one-call", sid, sku)).code).toBe("OK");
    } finally {
      r.sendCommand = original;
    }
    // one script call: the reservation, and its entry in the stream that hands it to its order and to PostgreSQL
    expect(sent).toEqual(["evalsha"]);
    expect(await sk().remaining(sid, sku)).toBe(38);
    expect(await sk().streamBacklog()).toBeGreaterThanOrEqual(2);
    // a session of more shards than units is capped at its stock
    const tiny = await online(3, 1, 8);
    expect((await sk().getSessions([tiny.sid]))[0]!.items[0]!.shards).toBe(3);
  });

  it("a storm of 4,500 parallel buys on 8 shards against stock 1,000: exactly 1,000 winners, nobody over the limit of 3, every shard settled", async () => {
    const { sid, sku } = await online(1000, 3, 8);
    const members = Array.from({ length: 1500 }, (_, i) => `storm8-${i}`);
    const attempts = members.flatMap((m) => [m, m, m]).sort(() => Math.random() - 0.5);
    const results = await Promise.all(attempts.map((m) => buy(m, sid, sku).then((r) => ({ m, ...r }))));
    const ok = results.filter((r) => r.code === "OK");
    expect(ok.length).toBe(1000);
    expect(results.filter((r) => r.code === "SOLD_OUT").length).toBe(3500);
    expect(new Set(ok.map((r) => r.reservationId)).size).toBe(1000);
    const perMember = new Map<string, number>();
    for (const r of ok) perMember.set(r.m, (perMember.get(r.m) ?? 0) + 1);
    expect(Math.max(...perMember.values())).toBeLessThanOrEqual(3);
    // the winners came from every shard, some through another shard's stock (their home sold out)
    const homes = new Set(ok.map((r) => parseReservationId(r.reservationId!)!.shard));
    expect(homes.size).toBe(8);
    const state = await shardState(sid, sku, 8);
    expect(state.map((s) => s.stock)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(state.every((s) => s.holds === 0 && s.takes === 0)).toBe(true);
    expect(state.reduce((a, s) => a + s.bought, 0)).toBe(1000);
    expect(state.reduce((a, s) => a + s.open, 0)).toBe(1000);
    for (const [m, count] of perMember) expect(await sk().bought(sid, sku, m)).toBe(count);
    const reservations = await Promise.all(ok.slice(0, 50).map((r) => sk().readReservation(r.reservationId!)));
    expect(reservations.every((r) => r?.status === "PENDING" && r.quantity === 1)).toBe(true);
  });

  it("home sold out: the limit is held at home while another shard gives the stock; none left anywhere gives the limit back", async () => {
    const { sid, sku } = await online(2, 2, 2); // shard 0: 1, shard 1: 1
    const [a, b, c] = homedAt(0, 2, 3, `fb-${sid.slice(0, 4)}`);
    expect((await buy(a!, sid, sku)).code).toBe("OK"); // home hit
    const viaOther = await buy(b!, sid, sku); // home 0 is empty: shard 1's unit
    expect(viaOther.code).toBe("OK");
    expect(parseReservationId(viaOther.reservationId!)!.shard).toBe(0); // the reservation lives at home
    expect(await sk().bought(sid, sku, b!)).toBe(1);
    expect(await sk().readReservation(viaOther.reservationId!)).toMatchObject({ status: "PENDING", buyerId: b });
    // nothing anywhere: SOLD_OUT, c's limit is not held, the same idempotency key may be used again
    expect(await sk().buy(c!, sid, sku, 1, "retry-me")).toEqual({ code: "SOLD_OUT", reservationId: null });
    expect(await sk().bought(sid, sku, c!)).toBe(0);
    expect((await sk().buy(c!, sid, sku, 1, "retry-me")).code).toBe("SOLD_OUT");
    const state = await shardState(sid, sku, 2);
    expect(state).toEqual([
      { stock: 0, holds: 0, takes: 0, bought: 2, open: 2 },
      { stock: 0, holds: 0, takes: 0, bought: 0, open: 0 },
    ]);
    // the order of the borrowed unit, its cancellation: stock back (to the home shard), limit back
    expect(await sk().createOrder(viaOther.reservationId!)).toBe("ORDERED");
    const order = await env.order.services.prisma.order.findFirstOrThrow({ where: { seckillReservationId: viaOther.reservationId! } });
    expect((await env.callOrder(`mutation($id: ID!) { cancelOrder(id: $id) { code } }`, { id: order.id }, b!)).data.cancelOrder.code).toBe(
      "OK",
    );
    expect(await sk().pollOrdered()).toEqual({ cancelled: 1, paid: 0 });
    expect(await sk().remaining(sid, sku)).toBe(1);
    expect(await sk().bought(sid, sku, b!)).toBe(0);
    expect((await buy(c!, sid, sku)).code).toBe("OK");
  });

  it("per-user limit stays exact when the home shard is sold out: 30 parallel attempts by one member against a limit of 2", async () => {
    const { sid, sku } = await online(10, 2, 2);
    const [greedy] = homedAt(0, 2, 1, `greedy-${sid.slice(0, 4)}`);
    // shard 0 (5 units) down to 1: two buyers homed there take 2 each, a third takes 2 from shard 1
    for (const m of homedAt(0, 2, 3, `empty-${sid.slice(0, 4)}`)) expect((await buy(m, sid, sku, 2)).code).toBe("OK");
    const r = await Promise.all(Array.from({ length: 30 }, () => buy(greedy!, sid, sku)));
    expect(r.filter((x) => x.code === "OK").length).toBe(2);
    expect(r.filter((x) => x.code === "LIMIT_EXCEEDED").length).toBe(28);
    expect(await sk().bought(sid, sku, greedy!)).toBe(2);
    expect(await sk().remaining(sid, sku)).toBe(10 - 6 - 2);
  });

  it("a process dying between the steps loses nothing: a HOLD with a take is confirmed, one without is released, a late take is given back", async () => {
    const { sid, sku } = await online(4, 1, 2); // 2 + 2
    const homed = homedAt(0, 2, 5, `crash-${sid.slice(0, 4)}`);
    for (const m of homed.slice(0, 2)) expect((await buy(m, sid, sku)).code).toBe("OK"); // shard 0 empty now
    // 1) dies after shard 1 gave the stock, before the home confirmed
    env.promotion.services.hooks.afterTake = () => {
      throw new Error("process died after the take");
    };
    await expect(buy(homed[2]!, sid, sku)).rejects.toThrow("process died");
    env.promotion.services.hooks.afterTake = undefined;
    let state = await shardState(sid, sku, 2);
    expect(state.map((s) => [s.stock, s.holds, s.takes])).toEqual([
      [0, 1, 0],
      [1, 0, 1],
    ]);
    expect(await sk().sweepHolds()).toBe(1); // confirmed with shard 1's unit; its order follows
    state = await shardState(sid, sku, 2);
    expect(state.map((s) => [s.stock, s.holds, s.takes])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
    const pending = await env.promotion.services.seckill.pendingCount();
    expect(pending).toBeGreaterThanOrEqual(1);
    expect(await sk().bought(sid, sku, homed[2]!)).toBe(1);
    // 2) dies right after the HOLD, before any take: the sweeper releases it (limit back, reservation FAILED)
    let held = "";
    env.promotion.services.hooks.afterHold = (rid) => {
      held = rid;
      throw new Error("process died after the hold");
    };
    await expect(buy(homed[3]!, sid, sku)).rejects.toThrow("process died");
    env.promotion.services.hooks.afterHold = undefined;
    expect(await sk().bought(sid, sku, homed[3]!)).toBe(1);
    expect(await sk().sweepHolds()).toBe(1);
    expect(await sk().bought(sid, sku, homed[3]!)).toBe(0);
    expect((await sk().readReservation(held))!.status).toBe("FAILED");
    // ...and the zombie wakes up and takes shard 1's last unit for the released hold: the take sweeper gives it back
    const k1 = shardKeys(env.config.REDIS_PREFIX, sid, sku, 1);
    expect(await env.promotion.services.seckill.store.lua.take(k1.meta, k1.stock, k1.takes, k1.takesAt, held, 1, Date.now())).toBe(1);
    expect(await sk().remaining(sid, sku)).toBe(0);
    expect(await sk().sweepTakes()).toBe(1);
    expect(await sk().remaining(sid, sku)).toBe(1);
    // accounting: 3 sold + 1 left = 4; the last unit still sells
    expect((await buy(homed[4]!, sid, sku)).code).toBe("OK");
    expect(await sk().remaining(sid, sku)).toBe(0);
    expect((await shardState(sid, sku, 2)).every((s) => s.holds === 0 && s.takes === 0)).toBe(true);
  });

  it("operators cancel a session: no more buys, reservations made still become orders, the unsold stock goes back to inventory once they settle", async () => {
    const CANCEL = `mutation($id: ID!) { adminCancelSeckillSession(id: $id) { id status items { remaining } } }`;
    const sku = await env.newSku(30);
    const sid = await env.createSession([{ skuId: sku, stock: 20, perUserLimit: 2, shards: 4 }]);
    await sk().lifecycle();
    expect(await redis().sismember(seckillSkusKey(env.config.REDIS_PREFIX), sku)).toBe(1);
    const r1 = await buy("cx-1", sid, sku, 2);
    const r2 = await buy("cx-2", sid, sku, 1);
    expect([r1.code, r2.code]).toEqual(["OK", "OK"]);
    expect(await env.stock(sku)).toEqual({ available: 10, reserved: 0, sold: 20 });
    const cancelled = (await env.call(CANCEL, { id: sid }, admin())).data.adminCancelSeckillSession;
    expect(cancelled).toMatchObject({ id: sid, status: "CANCELLED" });
    expect((await env.call(CANCEL, { id: sid }, admin())).data.adminCancelSeckillSession.status).toBe("CANCELLED"); // idempotent
    expect((await buy("cx-3", sid, sku)).code).toBe("NOT_ONLINE");
    expect(await redis().sismember(seckillSkusKey(env.config.REDIS_PREFIX), sku)).toBe(0);
    // the reservations made still become orders; the stock waits for them
    expect(await sk().createOrder(r1.reservationId!)).toBe("ORDERED");
    expect(await sk().createOrder(r2.reservationId!)).toBe("ORDERED");
    expect(await env.stock(sku)).toEqual({ available: 10, reserved: 0, sold: 20 });
    const [o1] = await env.order.services.prisma.order.findMany({ where: { seckillReservationId: r1.reservationId! } });
    const [o2] = await env.order.services.prisma.order.findMany({ where: { seckillReservationId: r2.reservationId! } });
    await env.callOrder(
      `mutation($o: ID!) { orderMarkPaid(orderId: $o, paymentId: "p-cx", channel: "SANDBOX") { code } }`,
      { o: o1!.id },
      { kind: "internal", service: "payment" },
    );
    await env.callOrder(`mutation($id: ID!) { cancelOrder(id: $id) { code } }`, { id: o2!.id }, "cx-2");
    expect(await sk().pollOrdered()).toEqual({ cancelled: 1, paid: 1 });
    await sk().lifecycle();
    // 2 sold; 18 back in catalog
    expect(await env.stock(sku)).toEqual({ available: 28, reserved: 0, sold: 2 });
    const s = await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid }, include: { items: true } });
    expect(s.stockReturnedAt).not.toBeNull();
    expect(s.items[0]!.returnedStock).toBe(18);
    // a scheduled session cancelled before it went online gives all of its stock back at once
    const later = await env.newSku(9);
    const sid2 = await env.createSession([{ skuId: later, stock: 9, perUserLimit: 1, shards: 3 }], {
      startsAt: new Date(Date.now() + 3 * 3600_000),
      endsAt: new Date(Date.now() + 4 * 3600_000),
    });
    expect(await env.stock(later)).toEqual({ available: 0, reserved: 0, sold: 9 });
    expect((await env.call(CANCEL, { id: sid2 }, admin())).data.adminCancelSeckillSession).toEqual({
      id: sid2,
      status: "CANCELLED",
      items: [{ remaining: 0 }],
    });
    expect(await env.stock(later)).toEqual({ available: 9, reserved: 0, sold: 0 });
    await sk().lifecycle(new Date(Date.now() + 3 * 3600_000)); // never brought online
    expect((await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid2 } })).status).toBe("CANCELLED");
    expect((await buy("cx-4", sid2, later)).code).toBe("NOT_ONLINE");
    // an ended session cannot be cancelled; unknown ids; operators only
    const ended = await online(1, 1, 1);
    await sk().lifecycle(new Date(Date.now() + 2 * 3600_000));
    expect((await env.call(CANCEL, { id: ended.sid }, admin())).errors?.[0]?.extensions?.code).toBe("INVALID_STATE");
    expect((await env.call(CANCEL, { id: "nope" }, admin())).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await env.call(CANCEL, { id: sid }, "a-member")).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("operators edit a session before it starts (title, times, price, limit); too close to the start or online: INVALID_STATE; bad input changes nothing", async () => {
    const UPDATE = `mutation($id: ID!, $input: SeckillSessionUpdateInput!) { adminUpdateSeckillSession(id: $id, input: $input) { id title startsAt endsAt items { skuId seckillPrice perUserLimit stock } } }`;
    const sku = await env.newSku(5);
    const at = (h: number) => new Date(Date.now() + h * 3600_000);
    const sid = await env.createSession([{ skuId: sku, stock: 5, perUserLimit: 1 }], { startsAt: at(2), endsAt: at(3) });
    const u = (
      await env.call(
        UPDATE,
        {
          id: sid,
          input: {
            title: "午夜秒杀",
            startsAt: at(5).toISOString(),
            endsAt: at(6).toISOString(),
            items: [{ skuId: sku, seckillPrice: "8.80", perUserLimit: 2 }],
          },
        },
        admin(),
      )
    ).data.adminUpdateSeckillSession;
    expect(u).toMatchObject({ title: "午夜秒杀", items: [{ skuId: sku, seckillPrice: "8.80", perUserLimit: 2, stock: 5 }] });
    expect(new Date(u.startsAt).getTime()).toBeGreaterThan(at(4.9).getTime());
    const before = await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid }, include: { items: true } });
    for (const [input, code] of [
      [{ startsAt: new Date(Date.now() + 30_000).toISOString() }, "BAD_USER_INPUT"],
      [{ endsAt: at(4).toISOString() }, "BAD_USER_INPUT"],
      [{ items: [{ skuId: sku, perUserLimit: 6 }] }, "BAD_USER_INPUT"],
      [{ items: [{ skuId: sku, seckillPrice: "1.001" }] }, "BAD_USER_INPUT"],
      [{ items: [{ skuId: "other", perUserLimit: 1 }] }, "NOT_FOUND"],
      [{ title: " " }, "BAD_USER_INPUT"],
    ] as const)
      expect((await env.call(UPDATE, { id: sid, input }, admin())).errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe(code);
    expect(await env.promotion.services.prisma.seckillSession.findUniqueOrThrow({ where: { id: sid }, include: { items: true } })).toEqual(
      before,
    );
    // about to start (within the online lead + margin) or online: refused
    const soon = await env.createSession([{ skuId: await env.newSku(1), stock: 1, perUserLimit: 1 }], {
      startsAt: new Date(Date.now() + 60_000),
      endsAt: at(1),
    });
    expect((await env.call(UPDATE, { id: soon, input: { title: "x" } }, admin())).errors?.[0]?.extensions?.code).toBe("INVALID_STATE");
    const live = await online(1, 1, 1);
    expect((await env.call(UPDATE, { id: live.sid, input: { title: "x" } }, admin())).errors?.[0]?.extensions?.code).toBe("INVALID_STATE");
    expect((await env.call(UPDATE, { id: sid, input: { title: "x" } }, admin(["order:read"]))).errors?.[0]?.extensions?.code).toBe(
      "FORBIDDEN",
    );
  });
});
