/**
 * Everything after a buy, driven by the stream consumer (seckill-stream.ts) and the repeatable `tick`:
 * - order creation: order's orderCreateSeckill(Batch) (idempotent per reservationId), then PENDING → ORDERED once;
 * - sweepers: PENDING reservations whose stream entry was lost; HOLDs and takes a dying process left
 *   unresolved (kept when the home confirmed with that shard's stock, given back otherwise);
 * - the poll of ORDERED reservations' orders: cancelled → stock and the buyer's limit back; paid → settled;
 * - the lifecycle: sessions armed in Redis shortly before they start, ended at endsAt, and once every
 *   shard is settled their unsold stock goes back to catalog (also for cancelled sessions).
 */
import { asError, defined } from "@mallgraph/platform/errors";
import { formatAmount } from "@mallgraph/platform/money";
import { PERMANENT_ORDER_REFUSALS } from "../errors.ts";
import { parseReservationId, seckillSkusKey, splitStock } from "./keys.ts";
import { snapshotOf, type SeckillCopy } from "./seckill-copy.ts";
import { SeckillOrderBatcher } from "./seckill-order-batcher.ts";
import { settleReservations, type SettleAction } from "./seckill-settle.ts";
import { SETTLED_RETENTION_SECONDS, type ItemRef, type SeckillStore } from "./seckill-store.ts";
import type { ReservationView } from "./types.ts";

/** What order creation needs of a reservation. */
type Orderable = Pick<ReservationView, "id" | "buyerId" | "skuId" | "quantity" | "unitPrice" | "currency">;

const PAID_STATUSES = new Set(["PAID", "SHIPPED", "COMPLETED", "REFUNDING", "REFUNDED"]);

export class SeckillSettlement {
  /** Reservations handed over at the same time in this process share one order call (one transaction there). */
  private readonly batcher: SeckillOrderBatcher;

  constructor(
    private readonly s: SeckillStore,
    private readonly copy: SeckillCopy,
  ) {
    this.batcher = new SeckillOrderBatcher(s.d.order);
  }

  private async settle(r: Pick<ReservationView, "id" | "buyerId">, action: SettleAction, arg = ""): Promise<number> {
    const [changed] = await settleReservations(this.s, [{ r, arg }], action);
    return changed ?? -1;
  }

  /**
   * The sweeper (and tests): makes the SECKILL order of a PENDING reservation read from Redis, after
   * copying it to PostgreSQL (an order never exists for a reservation PostgreSQL has not got).
   */
  async createOrder(reservationId: string): Promise<string> {
    const at = await this.s.locate(reservationId);
    const h = at ? await this.s.d.redis.hgetall(at.k.reservation(at.uuid)) : {};
    if (!h.id) return "UNKNOWN";
    if (h.status === "HOLD") return "HOLD"; // no stock yet: the buy (or sweepHolds) decides
    const r = snapshotOf(h);
    if (!r) throw new Error(`reservation ${reservationId} is incomplete in Redis`);
    if (r.status !== "PENDING") return r.status;
    await this.copy.write([r]);
    return this.orderFor(r);
  }

  /**
   * Makes the SECKILL order of a reservation that was PENDING (the stream consumer hands over the
   * buy's snapshot; the sweeper what it read). Idempotent: order answers the same order for the
   * same reservationId, and the reservation moves PENDING → ORDERED once (a reservation that moved on
   * meanwhile is left as it is). Throws (the entry comes again) when order is unreachable. The order
   * call is shared with the other reservations handed over at the same moment (SeckillOrderBatcher).
   */
  async orderFor(r: Orderable): Promise<string> {
    const [outcome] = await this.ordersFor([r]);
    if (outcome instanceof Error) throw outcome;
    return defined(outcome, "the reservation's outcome");
  }

  /**
   * `orderFor` of many (the stream consumer's batch): their orders in the shared order calls, then the
   * ORDERED ones settled with one script call per home shard. Per reservation: ORDERED, FAILED, or the
   * error that leaves it for another round.
   */
  async ordersFor(rs: Orderable[]): Promise<Array<"ORDERED" | "FAILED" | Error>> {
    const answers = await Promise.all(
      rs.map(async (r) => {
        try {
          const res = await this.batcher.create({
            reservationId: r.id,
            buyerId: r.buyerId,
            skuId: r.skuId,
            quantity: r.quantity,
            unitPrice: r.unitPrice,
            currency: r.currency,
          });
          await this.s.d.hooks?.afterOrderCreated?.(r.id);
          return res;
        } catch (e) {
          return asError(e);
        }
      }),
    );
    const out: Array<"ORDERED" | "FAILED" | Error> = answers.map((a) =>
      a instanceof Error ? a : a.code === "OK" && a.orderId ? "ORDERED" : new Error(`orderCreateSeckill answered ${a.code}`),
    );
    const ordered = rs.flatMap((r, i) => {
      const a = answers[i];
      return a && !(a instanceof Error) && out[i] === "ORDERED" ? [{ r, arg: a.orderId ?? "" }] : [];
    });
    await settleReservations(this.s, ordered, "ORDERED");
    await Promise.all(
      rs.map(async (r, i) => {
        const a = answers[i];
        if (!a || a instanceof Error || !PERMANENT_ORDER_REFUSALS.has(a.code)) return;
        this.s.d.log.warn({ reservationId: r.id, code: a.code }, "order refused the seckill order; stock goes back to the session");
        await this.settle(r, "FAILED");
        out[i] = "FAILED";
      }),
    );
    return out;
  }

  /**
   * Ids in one zset of every shard of the watched items, oldest first: up to an equal part of
   * `limit` per shard (at least 5), so one busy item never starves the others.
   */
  private async due(
    items: ItemRef[],
    zset: "pending" | "holds" | "takesAt" | "ordered",
    before: number | "+inf",
    limit: number,
  ): Promise<Array<{ ref: ItemRef; shard: number; id: string }>> {
    const shards = items.flatMap((ref) => Array.from({ length: ref.shards }, (_, n) => ({ ref, n })));
    const quota = Math.max(5, Math.ceil(limit / Math.max(1, shards.length)));
    const per = await Promise.all(
      shards.map(({ ref, n }) => this.s.d.redis.zrangebyscore(this.s.keys(ref, n)[zset], "-inf", before, "LIMIT", 0, quota)),
    );
    return shards.flatMap(({ ref, n }, i) => (per[i] ?? []).map((id) => ({ ref, shard: n, id })));
  }

  /** Re-runs reservations still PENDING after pendingAfterMs (a lost stream entry, a dead worker). */
  async sweepPending(limit = 200, items?: ItemRef[]): Promise<number> {
    const due = await this.due(items ?? (await this.s.watched()), "pending", Date.now() - (this.s.d.pendingAfterMs ?? 15_000), limit);
    let n = 0;
    for (let i = 0; i < due.length; i += 8) {
      const done = await Promise.all(
        due.slice(i, i + 8).map(({ id }) =>
          this.createOrder(id).catch((e) => {
            this.s.d.log.warn({ err: e, reservationId: id }, "sweep: seckill order still failing");
            return "ERROR";
          }),
        ),
      );
      n += done.filter((s) => s === "ORDERED" || s === "FAILED").length;
    }
    return n;
  }

  /**
   * HOLDs older than holdAfterMs (the buying process died between its steps): confirmed with the
   * shard that gave it stock, if one did; released otherwise — and then any take made for it later
   * by that process is given back. Answers how many were resolved.
   */
  async sweepHolds(limit = 200, items?: ItemRef[]): Promise<number> {
    const due = await this.due(items ?? (await this.s.watched()), "holds", Date.now() - (this.s.d.holdAfterMs ?? 10_000), limit);
    let n = 0;
    for (const { ref, shard: home, id } of due) {
      const p = parseReservationId(id);
      if (!p) continue;
      const hk = this.s.keys(ref, home);
      const idem = (await this.s.d.redis.hget(hk.reservation(p.uuid), "idemKey")) ?? hk.idem("", "");
      const resolve = (action: "CONFIRM" | "RELEASE", shard = -1): Promise<number> =>
        this.s.lua.resolveHold(
          hk.reservation(p.uuid),
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
      const others = Array.from({ length: ref.shards }, (_, j) => j).filter((j) => j !== home);
      const gave = (await Promise.all(others.map((j) => this.s.d.redis.hexists(this.s.keys(ref, j).takes, id)))).findIndex((x) => x === 1);
      if (gave >= 0) {
        const j = defined(others[gave], "the shard that gave");
        if ((await resolve("CONFIRM", j)) === 1) {
          const jk = this.s.keys(ref, j);
          await this.s.lua.settleTake(jk.stock, jk.takes, jk.takesAt, id, "KEEP"); // the confirmation went to the stream
          n++;
        }
        continue;
      }
      if ((await resolve("RELEASE")) === 1) n++;
      for (const j of others) {
        const jk = this.s.keys(ref, j);
        await this.s.lua.settleTake(jk.stock, jk.takes, jk.takesAt, id, "RETURN");
      }
    }
    return n;
  }

  /** Takes older than holdAfterMs not settled by their buying process: kept when the home confirmed with them, given back otherwise. */
  async sweepTakes(limit = 200, items?: ItemRef[]): Promise<number> {
    const due = await this.due(items ?? (await this.s.watched()), "takesAt", Date.now() - (this.s.d.holdAfterMs ?? 10_000), limit);
    let n = 0;
    for (const { ref, shard: j, id } of due) {
      const at = await this.s.locate(id);
      const [status, stockShard] = at ? await this.s.d.redis.hmget(at.k.reservation(at.uuid), "status", "stockShard") : [null, null];
      if (status === "HOLD") continue; // sweepHolds decides
      const jk = this.s.keys(ref, j);
      n += (await this.s.lua.settleTake(jk.stock, jk.takes, jk.takesAt, id, stockShard === String(j) ? "KEEP" : "RETURN")) > 0 ? 1 : 0;
    }
    return n;
  }

  /** Polls order for ORDERED, unsettled reservations: cancelled → stock back; paid → settled. */
  async pollOrdered(limit = 200, items?: ItemRef[]): Promise<{ cancelled: number; paid: number }> {
    const due = await this.due(items ?? (await this.s.watched()), "ordered", "+inf", limit);
    const out = { cancelled: 0, paid: 0 };
    if (!due.length) return out;
    const rs = (await Promise.all(due.map(({ id }) => this.s.readReservation(id)))).filter(
      (r): r is ReservationView & { orderId: string } => !!r?.orderId,
    );
    const statuses = await this.s.d.order.statuses(rs.map((r) => r.orderId));
    const waiting: ReservationView[] = [];
    for (const [i, r] of rs.entries()) {
      const st = statuses[i];
      if (st === "CANCELLED") out.cancelled += (await this.settle(r, "CANCELLED")) === 1 ? 1 : 0;
      else if (st && PAID_STATUSES.has(st)) out.paid += (await this.settle(r, "PAID", st)) === 1 ? 1 : 0;
      else waiting.push(r);
    }
    // round robin: checked-and-waiting ones go to the back (XX: never re-adds a settled one)
    const now = Date.now();
    for (const r of waiting) {
      const at = await this.s.locate(r.id);
      if (at) await this.s.d.redis.zadd(at.k.ordered, "XX", now, r.id);
    }
    return out;
  }

  // =============================================================== lifecycle

  /** Arms every shard of a session's items in Redis (status ONLINE unless closed before; stock once). */
  private async arm(s: {
    id: string;
    startsAt: Date;
    endsAt: Date;
    items: Array<{
      skuId: string;
      slot: number;
      shards: number;
      perUserLimit: number;
      seckillPrice: { toString(): string };
      currency: string;
      stock: number;
    }>;
  }): Promise<void> {
    for (const i of s.items) {
      const ref = this.s.remember({ sessionId: s.id, skuId: i.skuId, slot: i.slot, shards: i.shards });
      const split = splitStock(i.stock, i.shards);
      await Promise.all(
        split.map((stock, n) => {
          const k = this.s.keys(ref, n);
          return this.s.lua.arm(
            k.meta,
            k.stock,
            s.startsAt.getTime(),
            s.endsAt.getTime(),
            i.perUserLimit,
            formatAmount(i.seckillPrice, i.currency),
            i.currency,
            i.shards,
            stock,
            s.id,
            i.skuId,
            n,
          );
        }),
      );
    }
  }

  /** The SKUs of a session leave the cart's seckill set unless another online session has them. */
  async releaseSkus(sessionId: string, skuIds: string[], now = new Date()): Promise<void> {
    const others = await this.s.d.prisma.seckillItem.findMany({
      where: { skuId: { in: skuIds }, sessionId: { not: sessionId }, session: { status: "ONLINE", endsAt: { gt: now } } },
      select: { skuId: true },
    });
    const keep = new Set(others.map((o) => o.skuId));
    const gone = skuIds.filter((sku) => !keep.has(sku));
    if (gone.length) await this.s.d.redis.srem(seckillSkusKey(this.s.d.prefix), ...gone);
  }

  /**
   * Closes every shard of an ENDED or CANCELLED session's items and, for each item whose shards all
   * settled, gives the unsold rest back to catalog (inventoryReturn, idempotent per key). Marks the
   * session returned when every item is.
   */
  async returnUnsold(sessionId: string, now = new Date()): Promise<boolean> {
    const s = await this.s.d.prisma.seckillSession.findUnique({ where: { id: sessionId }, include: { items: true } });
    if (!s || (s.status !== "ENDED" && s.status !== "CANCELLED") || s.stockReturnedAt) return false;
    let all = true;
    for (const i of s.items) {
      if (i.returnedStock != null) continue;
      const ref = this.s.remember(i);
      const split = splitStock(i.stock, i.shards);
      const parked = await Promise.all(
        split.map((initial, n) => {
          const k = this.s.keys(ref, n);
          return this.s.lua.close(k.meta, k.open, k.stock, k.returned, k.takesAt, s.status, initial) as Promise<number>;
        }),
      );
      if (parked.some((q) => q < 0)) {
        all = false;
        continue;
      }
      const qty = parked.reduce((a, b) => a + b, 0);
      if (qty > 0 && !(await this.s.d.catalog.returnSold(`seckill:${s.id}:${i.skuId}`, i.skuId, qty))) {
        this.s.d.log.error({ sessionId: s.id, skuId: i.skuId, qty }, "catalog refused the unsold seckill stock");
        all = false;
        continue;
      }
      await this.s.d.prisma.seckillItem.update({
        where: { sessionId_skuId: { sessionId: s.id, skuId: i.skuId } },
        data: { returnedStock: qty },
      });
    }
    if (all) await this.s.d.prisma.seckillSession.update({ where: { id: s.id }, data: { stockReturnedAt: now } });
    return all;
  }

  /** Brings due sessions online, ends finished ones, returns settled sessions' unsold stock. */
  async lifecycle(now = new Date()): Promise<{ online: number; ended: number; returned: number }> {
    const out = { online: 0, ended: 0, returned: 0 };
    const skus = seckillSkusKey(this.s.d.prefix);
    const due = await this.s.d.prisma.seckillSession.findMany({
      where: { status: "SCHEDULED", startsAt: { lte: new Date(now.getTime() + (this.s.d.onlineLeadMs ?? 60_000)) } },
      include: { items: true },
    });
    for (const s of due) {
      await this.arm(s);
      if (s.items.length) await this.s.d.redis.sadd(skus, ...s.items.map((i) => i.skuId));
      const r = await this.s.d.prisma.seckillSession.updateMany({
        where: { id: s.id, status: "SCHEDULED" },
        data: { status: "ONLINE", onlineAt: now },
      });
      out.online += r.count;
      // cancelled meanwhile: its shards stay closed (arm never reopens one); the SKUs leave the set again
      if (!r.count)
        await this.releaseSkus(
          s.id,
          s.items.map((i) => i.skuId),
          now,
        );
    }
    const online = await this.s.d.prisma.seckillSession.findMany({
      where: { status: "ONLINE" },
      include: { items: { select: { skuId: true } } },
    });
    for (const s of online) {
      if (s.endsAt.getTime() > now.getTime()) {
        // keep the cart's set current (self-healing)
        if (s.items.length) await this.s.d.redis.sadd(skus, ...s.items.map((i) => i.skuId));
        continue;
      }
      const r = await this.s.d.prisma.seckillSession.updateMany({
        where: { id: s.id, status: "ONLINE" },
        data: { status: "ENDED", endedAt: now },
      });
      await this.releaseSkus(
        s.id,
        s.items.map((i) => i.skuId),
        now,
      );
      out.ended += r.count;
    }
    const closing = await this.s.d.prisma.seckillSession.findMany({
      where: { status: { in: ["ENDED", "CANCELLED"] }, stockReturnedAt: null },
      select: { id: true },
    });
    for (const s of closing) out.returned += (await this.returnUnsold(s.id, now)) ? 1 : 0;
    return out;
  }

  /** The repeatable job: lifecycle, sweepers, order status poll. */
  async tick(): Promise<Record<string, number>> {
    const l = await this.lifecycle();
    const items = await this.s.watched();
    const holds = await this.sweepHolds(200, items);
    const takes = await this.sweepTakes(200, items);
    const swept = await this.sweepPending(200, items);
    const p = await this.pollOrdered(200, items);
    // a session whose last reservation settled in this tick can return its stock now
    const again = p.cancelled + p.paid + swept + holds + takes > 0 ? await this.lifecycle() : { returned: 0 };
    return { ...l, returned: l.returned + again.returned, swept, holds, takes, ...p };
  }
}
