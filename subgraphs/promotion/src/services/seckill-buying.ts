/**
 * Buying (docs/decisions/0012-seckill-stock-shards.md). A buyer maps to a home shard of the item;
 * the common case is ONE script call there (lua/buySeckill-shard.lua): idempotency key, online and in
 * time, per-user limit, stock, the reservation and its entry in the shard's stream (the hand-off to
 * its order and to PostgreSQL, decision 0032) — atomically, one round trip. When the home shard is sold out the
 * script keeps the buyer's limit reserved at home (a HOLD reservation); stock is then taken from
 * another shard (lua/takeStock-shard.lua) and the home confirms the reservation with it, or releases
 * the limit when no shard has any (lua/resolveHold-shard.lua). A process dying midway leaves a HOLD
 * or an unsettled take that the sweeper resolves (seckill-settlement.ts).
 */
import { randomUUID } from "node:crypto";
import { badInput, notFound } from "@mallgraph/platform/errors";
import { SeckillCode } from "../errors.ts";
import { homeShard, reservationId } from "./keys.ts";
import { MAX_BUY_QUANTITY, SETTLED_RETENTION_SECONDS, type ItemRef, type SeckillStore } from "./seckill-store.ts";
import type { BuyOutcome } from "./types.ts";

export class SeckillBuying {
  constructor(private readonly s: SeckillStore) {}

  async buy(buyerId: string, sessionId: string, skuId: string, quantity: number, idempotencyKey: string): Promise<BuyOutcome> {
    for (const [f, v] of [
      ["sessionId", sessionId],
      ["skuId", skuId],
    ] as const)
      if (typeof v !== "string" || !v.trim() || v.length > 64) throw badInput(`${f} must be a non-empty id`, { field: f });
    if (typeof idempotencyKey !== "string" || !idempotencyKey.trim() || idempotencyKey.length > 64)
      throw badInput("idempotencyKey must be 1..64 characters", { field: "idempotencyKey" });
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_BUY_QUANTITY)
      return { code: SeckillCode.BAD_QUANTITY, reservationId: null };
    const ref = await this.s.item(sessionId, skuId);
    if (!ref) throw notFound("seckill item", `${sessionId}/${skuId}`);
    const home = homeShard(buyerId, ref.shards);
    const k = this.s.keys(ref, home);
    const uuid = randomUUID();
    const rid = reservationId(ref.slot, home, uuid);
    const idem = k.idem(buyerId, idempotencyKey.trim());
    const [answer, id] = (await this.s.lua.buy(
      k.meta,
      k.stock,
      k.bought,
      idem,
      k.reservation(uuid),
      k.pending,
      k.open,
      k.holds,
      k.seq,
      k.stream,
      buyerId,
      quantity,
      Date.now(),
      rid,
      this.s.d.idempotencyTtlSeconds ?? 24 * 3600,
      sessionId,
      skuId,
      home,
    )) as [SeckillCode | "HOLD", string]; // buy-seckill.lua answers one of these
    // an OK reservation is in its shard's stream already (the hand-off to its order, seckill-stream.ts)
    const code = answer === "HOLD" ? await this.fromOtherShards(ref, home, uuid, rid, quantity, idem) : answer;
    return { code, reservationId: code === SeckillCode.SOLD_OUT ? null : id || null };
  }

  /**
   * The home shard is sold out and holds the buyer's limit: take the stock from another shard (those
   * showing enough first, in shard order after home) and confirm at home; none has any → release.
   */
  private async fromOtherShards(ref: ItemRef, home: number, uuid: string, rid: string, q: number, idem: string): Promise<SeckillCode> {
    await this.s.d.hooks?.afterHold?.(rid);
    const hk = this.s.keys(ref, home);
    const others = Array.from({ length: ref.shards - 1 }, (_, i) => (home + 1 + i) % ref.shards);
    // one round trip to see which shards have enough (stock only returns through cancellations)
    const stocks = await Promise.all(others.map((j) => this.s.d.redis.get(this.s.keys(ref, j).stock)));
    const resolveAt = (action: "CONFIRM" | "RELEASE", shard = -1): Promise<number> =>
      this.s.lua.resolveHold(
        hk.reservation(uuid),
        hk.holds,
        hk.pending,
        hk.bought,
        hk.open,
        idem,
        hk.seq,
        hk.stream,
        action,
        shard,
        Date.now(),
        SETTLED_RETENTION_SECONDS,
      );
    for (const [i, j] of others.entries()) {
      if (Number(stocks[i] ?? 0) < q) continue;
      const jk = this.s.keys(ref, j);
      if ((await this.s.lua.take(jk.meta, jk.stock, jk.takes, jk.takesAt, rid, q, Date.now())) !== 1) continue;
      await this.s.d.hooks?.afterTake?.(rid, j);
      if ((await resolveAt("CONFIRM", j)) === 1) {
        await this.s.lua
          .settleTake(jk.stock, jk.takes, jk.takesAt, rid, "KEEP")
          .catch((e: unknown) => this.s.d.log.warn({ err: e, reservationId: rid }, "take left for the sweeper"));
        return SeckillCode.OK;
      }
      // a sweeper released the hold meanwhile (it took this process for dead): give the stock back
      await this.s.lua.settleTake(jk.stock, jk.takes, jk.takesAt, rid, "RETURN");
      return SeckillCode.SOLD_OUT;
    }
    await resolveAt("RELEASE");
    return SeckillCode.SOLD_OUT;
  }
}
