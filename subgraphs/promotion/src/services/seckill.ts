/**
 * Seckill (flash sale).
 *
 * - Sessions are created by operators; their stock leaves catalog at once (workflow createSession).
 * - The lifecycle (`tick`, a repeatable job) brings sessions starting within `onlineLeadMs` online
 *   (session, items, stock counters into Redis; SKUs into the `seckill-skus` set), ends them at
 *   endsAt (no more buys; SKUs out of the set), and once every reservation of an ended session is
 *   settled gives the unsold stock back to catalog (inventoryReturn, idempotent per key).
 * - A buy is ONE Lua script (lua/buySeckill-session.lua): idempotency key, online and in time,
 *   per-user limit, stock, and the reservation record, atomically. The answer is immediate; the
 *   `create-order` job (jobId = reservationId) asks order for the SECKILL order.
 * - The reservation in Redis is the source of truth. Nothing is lost when a worker dies: order
 *   creation is idempotent per reservationId (order's unique column) and the reservation only moves
 *   PENDING → ORDERED once (lua/settleReservation-reservation.lua); the sweeper re-runs reservations
 *   still PENDING after `pendingAfterMs`.
 * - Cancelled / timed-out orders: promotion polls order (`orderForPayment` status) for ORDERED,
 *   unsettled reservations; CANCELLED gives the stock (and the buyer's limit) back to the session,
 *   a paid order settles the reservation.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import { AppError, ErrorCode, badInput, notFound } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount } from "@mallgraph/platform/money";
import { defineLua } from "@mallgraph/platform/redis";
import { publishLiveEvent } from "@mallgraph/platform/events";
import type { Logger } from "@mallgraph/platform/log";
import { parseTime } from "./time.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import { PERMANENT_ORDER_REFUSALS, SeckillCode } from "../errors.ts";
import { runCreateSession, type CreateSessionState } from "../workflows/createSession.ts";
import { WorkflowAbort, WorkflowFailed, type WorkflowHooks } from "@mallgraph/platform/workflow";
import { seckillKeys, type SeckillKeys } from "./keys.ts";
import type { CatalogPort, OrderPort } from "./ports.ts";
import type { BuyOutcome, ItemView, ReservationStatus, ReservationView, SeckillSessionInput, SessionView } from "./types.ts";

export const MAX_ITEMS = 50;
export const MAX_STOCK = 1_000_000;
export const MAX_BUY_QUANTITY = 999;
const MAX_SESSION_MS = 31 * 24 * 3600 * 1000;
/** Settled reservations stay readable (seckillReservation) this long. */
const SETTLED_RETENTION_SECONDS = 30 * 24 * 3600;
const PAID_STATUSES = new Set(["PAID", "SHIPPED", "COMPLETED", "REFUNDING", "REFUNDED"]);

export const RESERVATION_TOPIC = "seckillReservationChanged";

export const SeckillJob = { createOrder: "create-order", tick: "tick" } as const;

export interface SeckillTestHooks {
  createSession?: WorkflowHooks;
  /** Runs in the create-order job after order answered, before the reservation is marked (crash injection). */
  afterOrderCreated?(reservationId: string): void | Promise<void>;
}

export interface SeckillDeps {
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  catalog: CatalogPort;
  order: OrderPort;
  /** Queue of the `create-order` jobs. */
  orders: Queue;
  log: Logger;
  /** Sessions starting within this time are brought online (default 60 s). */
  onlineLeadMs?: number;
  /** The sweeper re-runs reservations PENDING for longer than this (default 15 s). */
  pendingAfterMs?: number;
  idempotencyTtlSeconds?: number;
  hooks?: SeckillTestHooks;
}

type BuyFn = (...args: Array<string | number>) => Promise<[string, string]>;
type SettleFn = (...args: Array<string | number>) => Promise<number>;
type CloseFn = (...args: Array<string | number>) => Promise<number>;

export class SeckillService {
  readonly keys: SeckillKeys;
  private readonly buyLua: BuyFn;
  private readonly settleLua: SettleFn;
  private readonly closeLua: CloseFn;

  constructor(private readonly d: SeckillDeps) {
    this.keys = seckillKeys(d.prefix);
    this.buyLua = defineLua(d.redis, "promotionBuySeckill", new URL("../lua/buySeckill-session.lua", import.meta.url), 8) as BuyFn;
    this.settleLua = defineLua(d.redis, "promotionSettleReservation", new URL("../lua/settleReservation-reservation.lua", import.meta.url), 6) as SettleFn;
    this.closeLua = defineLua(d.redis, "promotionCloseStock", new URL("../lua/closeStock-item.lua", import.meta.url), 4) as CloseFn;
  }

  // =============================================================== sessions

  async createSession(input: SeckillSessionInput, operatorId: string | null): Promise<SessionView> {
    const title = typeof input.title === "string" ? input.title.trim() : "";
    if (!title || title.length > 100) throw badInput("title is required (at most 100 characters)", { field: "title" });
    const startsAt = parseTime(input.startsAt, "startsAt");
    const endsAt = parseTime(input.endsAt, "endsAt");
    if (endsAt <= startsAt) throw badInput("endsAt must be after startsAt", { field: "endsAt" });
    if (endsAt.getTime() <= Date.now()) throw badInput("endsAt must be in the future", { field: "endsAt" });
    if (endsAt.getTime() - startsAt.getTime() > MAX_SESSION_MS) throw badInput("a session lasts at most 31 days", { field: "endsAt" });
    const items = input.items ?? [];
    if (!items.length || items.length > MAX_ITEMS) throw badInput(`1..${MAX_ITEMS} items`, { field: "items" });
    const seen = new Set<string>();
    for (const i of items) {
      if (typeof i.skuId !== "string" || !i.skuId.trim() || i.skuId.length > 64) throw badInput("skuId must be a non-empty id", { field: "items.skuId" });
      if (seen.has(i.skuId)) throw badInput(`SKU ${i.skuId} appears twice`, { field: "items.skuId" });
      seen.add(i.skuId);
      if (!Number.isInteger(i.stock) || i.stock < 1 || i.stock > MAX_STOCK) throw badInput(`stock must be an integer in 1..${MAX_STOCK}`, { field: "items.stock" });
      if (!Number.isInteger(i.perUserLimit) || i.perUserLimit < 1 || i.perUserLimit > i.stock) throw badInput("perUserLimit must be an integer in 1..stock", { field: "items.perUserLimit" });
    }
    const snaps = await this.d.catalog.skuSnapshots(items.map((i) => i.skuId));
    const lines: CreateSessionState["items"] = [];
    for (let n = 0; n < items.length; n++) {
      const i = items[n]!;
      const snap = snaps[n];
      if (!snap) throw notFound("SKU", i.skuId);
      if (!snap.onShelf) throw new AppError(ErrorCode.INVALID_STATE, `SKU ${i.skuId} is off the shelf`, { skuId: i.skuId });
      const price = parseAmount(i.seckillPrice, snap.currency, { field: "items.seckillPrice" });
      lines.push({ skuId: i.skuId, title: snap.title, seckillPrice: price.toFixed(), currency: snap.currency, stock: i.stock, perUserLimit: i.perUserLimit });
    }
    // one SKU is in at most one unfinished session at a time (the seckill-skus set is per SKU)
    const clash = await this.d.prisma.seckillItem.findFirst({
      where: { skuId: { in: [...seen] }, session: { status: { not: "ENDED" }, startsAt: { lt: endsAt }, endsAt: { gt: startsAt } } },
      select: { skuId: true, sessionId: true },
    });
    if (clash) throw new AppError(ErrorCode.CONFLICT, `SKU ${clash.skuId} is already in seckill session ${clash.sessionId} at that time`, { skuId: clash.skuId });

    const state: CreateSessionState = { sessionId: randomUUID(), title, startsAt, endsAt, createdBy: operatorId, items: lines };
    try {
      await runCreateSession({ prisma: this.d.prisma, catalog: this.d.catalog, log: this.d.log }, state, this.d.hooks?.createSession);
    } catch (e) {
      if (e instanceof WorkflowAbort) {
        const sku = (e.details.failedSkuId as string | null) ?? undefined;
        if (e.code === "OUT_OF_STOCK") throw new AppError(ErrorCode.OUT_OF_STOCK, `not enough stock in catalog for SKU ${sku}`, { failedSkuId: sku });
        if (e.code === "NOT_FOUND") throw notFound("SKU", sku);
        if (e.code === "OFF_SHELF") throw new AppError(ErrorCode.INVALID_STATE, `SKU ${sku} is off the shelf`, { failedSkuId: sku });
        throw badInput(`catalog refused the allocation: ${e.code}`, { failedSkuId: sku });
      }
      if (e instanceof WorkflowFailed) throw e.cause;
      throw e;
    }
    return (await this.getSessions([state.sessionId]))[0]!;
  }

  /** Sessions not over yet and those ended within the last day, by start time. */
  async listSessions(): Promise<SessionView[]> {
    const rows = await this.d.prisma.seckillSession.findMany({
      where: { OR: [{ status: { not: "ENDED" } }, { endsAt: { gt: new Date(Date.now() - 24 * 3600 * 1000) } }] },
      orderBy: [{ startsAt: "asc" }, { id: "asc" }],
      include: { items: { orderBy: { skuId: "asc" } } },
      take: 200,
    });
    return this.views(rows);
  }

  async getSessions(ids: string[]): Promise<SessionView[]> {
    const rows = await this.d.prisma.seckillSession.findMany({ where: { id: { in: ids } }, include: { items: { orderBy: { skuId: "asc" } } } });
    return this.views(rows);
  }

  private async views(rows: Array<Awaited<ReturnType<PrismaClient["seckillSession"]["findFirstOrThrow"]>> & { items: Array<{ sessionId: string; skuId: string; title: string; seckillPrice: { toString(): string }; currency: string; stock: number; perUserLimit: number; returnedStock: number | null }> }>): Promise<SessionView[]> {
    const live = rows.flatMap((s) => (s.status === "SCHEDULED" ? [] : s.items.map((i) => this.keys.stock(s.id, i.skuId))));
    const counters = live.length ? await this.d.redis.mget(...live) : [];
    const byKey = new Map(live.map((k, n) => [k, counters[n]]));
    return rows.map((s) => ({
      id: s.id,
      title: s.title,
      status: s.status,
      startsAt: s.startsAt.toISOString(),
      endsAt: s.endsAt.toISOString(),
      items: s.items.map((i): ItemView => ({
        sessionId: s.id,
        skuId: i.skuId,
        title: i.title,
        seckillPrice: formatAmount(i.seckillPrice, i.currency),
        currency: i.currency,
        stock: i.stock,
        perUserLimit: i.perUserLimit,
        remaining: s.status === "SCHEDULED" ? i.stock : i.returnedStock != null ? 0 : Math.max(0, Number(byKey.get(this.keys.stock(s.id, i.skuId)) ?? 0)),
      })),
    }));
  }

  // =============================================================== buying

  async buy(buyerId: string, sessionId: string, skuId: string, quantity: number, idempotencyKey: string): Promise<BuyOutcome> {
    for (const [f, v] of [["sessionId", sessionId], ["skuId", skuId]] as const)
      if (typeof v !== "string" || !v.trim() || v.length > 64) throw badInput(`${f} must be a non-empty id`, { field: f });
    if (typeof idempotencyKey !== "string" || !idempotencyKey.trim() || idempotencyKey.length > 64) throw badInput("idempotencyKey must be 1..64 characters", { field: "idempotencyKey" });
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_BUY_QUANTITY) return { code: SeckillCode.BAD_QUANTITY, reservationId: null };
    const k = this.keys;
    const rid = randomUUID();
    const [code, id] = await this.buyLua(
      k.session(sessionId), k.item(sessionId, skuId), k.stock(sessionId, skuId), k.bought(sessionId, skuId), k.idem(buyerId, idempotencyKey.trim()),
      k.reservation(rid), k.pending(), k.open(sessionId),
      buyerId, quantity, Date.now(), rid, this.d.idempotencyTtlSeconds ?? 24 * 3600, sessionId, skuId,
    );
    if (code === SeckillCode.OK) {
      // the sweeper covers a lost enqueue: the reservation is already recorded
      await this.d.orders.add(SeckillJob.createOrder, { reservationId: rid }, { jobId: rid }).catch((e) => this.d.log.warn({ err: e, reservationId: rid }, "could not enqueue the seckill order; the sweeper will"));
    }
    if (code === SeckillCode.NOT_ONLINE) {
      const item = await this.d.prisma.seckillItem.findUnique({ where: { sessionId_skuId: { sessionId, skuId } }, select: { skuId: true } });
      if (!item) throw notFound("seckill item", `${sessionId}/${skuId}`);
    }
    return { code, reservationId: id || null };
  }

  async reservation(id: string, viewerId: string): Promise<ReservationView | null> {
    const r = await this.readReservation(id);
    return r && r.buyerId === viewerId ? r : null;
  }

  async readReservation(id: string): Promise<ReservationView | null> {
    if (typeof id !== "string" || !id || id.length > 64) return null;
    const h = await this.d.redis.hgetall(this.keys.reservation(id));
    if (!h.id) return null;
    return {
      id: h.id,
      status: h.status as ReservationStatus,
      sessionId: h.sessionId!,
      skuId: h.skuId!,
      buyerId: h.buyerId!,
      quantity: Number(h.quantity),
      unitPrice: h.unitPrice!,
      currency: h.currency!,
      orderId: h.orderId || null,
      createdMs: Number(h.createdMs),
    };
  }

  /** How much of an item one buyer holds in live reservations. */
  async bought(sessionId: string, skuId: string, buyerId: string): Promise<number> {
    return Number((await this.d.redis.hget(this.keys.bought(sessionId, skuId), buyerId)) ?? 0);
  }

  private async settle(r: ReservationView, action: "ORDERED" | "FAILED" | "CANCELLED" | "PAID", arg = ""): Promise<number> {
    const k = this.keys;
    const changed = await this.settleLua(k.reservation(r.id), k.pending(), k.ordered(), k.open(r.sessionId), k.stock(r.sessionId, r.skuId), k.bought(r.sessionId, r.skuId), action, arg, Date.now(), SETTLED_RETENTION_SECONDS);
    if (changed === 1 && action !== "PAID") {
      // live event → the buyer's `seckillReservationChanged` subscription (best-effort; the state is in Redis)
      await publishLiveEvent(this.d.redis, this.d.prefix, RESERVATION_TOPIC, { eventId: `${r.id}.${action}`, keys: { reservationId: r.id }, audience: [r.buyerId] })
        .catch((e) => this.d.log.warn({ err: e, reservationId: r.id }, "could not publish the reservation event"));
    }
    return changed;
  }

  /**
   * The create-order job (and the sweeper): makes the SECKILL order of a PENDING reservation.
   * Idempotent: order answers the same order for the same reservationId, and the reservation
   * moves PENDING → ORDERED once. Throws (the job retries) when order is unreachable.
   */
  async createOrder(reservationId: string): Promise<string> {
    const r = await this.readReservation(reservationId);
    if (!r) return "UNKNOWN";
    if (r.status !== "PENDING") return r.status;
    const res = await this.d.order.createSeckill({ reservationId: r.id, buyerId: r.buyerId, skuId: r.skuId, quantity: r.quantity, unitPrice: r.unitPrice, currency: r.currency });
    await this.d.hooks?.afterOrderCreated?.(r.id);
    if (res.code === "OK" && res.orderId) {
      await this.settle(r, "ORDERED", res.orderId);
      return "ORDERED";
    }
    if (PERMANENT_ORDER_REFUSALS.has(res.code)) {
      this.d.log.warn({ reservationId: r.id, code: res.code }, "order refused the seckill order; stock goes back to the session");
      await this.settle(r, "FAILED");
      return "FAILED";
    }
    throw new Error(`orderCreateSeckill answered ${res.code}`);
  }

  /** Re-runs reservations still PENDING after pendingAfterMs (a lost job, a dead worker). */
  async sweepPending(limit = 200): Promise<number> {
    const due = await this.d.redis.zrangebyscore(this.keys.pending(), "-inf", Date.now() - (this.d.pendingAfterMs ?? 15_000), "LIMIT", 0, limit);
    let n = 0;
    for (let i = 0; i < due.length; i += 8) {
      const done = await Promise.all(due.slice(i, i + 8).map((rid) => this.createOrder(rid).catch((e) => {
        this.d.log.warn({ err: e, reservationId: rid }, "sweep: seckill order still failing");
        return "ERROR";
      })));
      n += done.filter((s) => s === "ORDERED" || s === "FAILED").length;
    }
    return n;
  }

  /** Polls order for ORDERED, unsettled reservations: cancelled → stock back; paid → settled. */
  async pollOrdered(limit = 200): Promise<{ cancelled: number; paid: number }> {
    const rids = await this.d.redis.zrange(this.keys.ordered(), 0, limit - 1);
    const out = { cancelled: 0, paid: 0 };
    if (!rids.length) return out;
    const rs = (await Promise.all(rids.map((id) => this.readReservation(id)))).filter((r): r is ReservationView => !!r?.orderId);
    const statuses = await this.d.order.statuses(rs.map((r) => r.orderId!));
    const waiting: string[] = [];
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      const st = statuses[i];
      if (st === "CANCELLED") out.cancelled += (await this.settle(r, "CANCELLED")) === 1 ? 1 : 0;
      else if (st && PAID_STATUSES.has(st)) out.paid += (await this.settle(r, "PAID", st)) === 1 ? 1 : 0;
      else waiting.push(r.id);
    }
    // round robin: checked-and-waiting ones go to the back (XX: never re-adds a settled one)
    const now = Date.now();
    if (waiting.length) await this.d.redis.zadd(this.keys.ordered(), "XX", ...waiting.flatMap((id) => [now, id]));
    return out;
  }

  // =============================================================== lifecycle

  /** Brings due sessions online, ends finished ones, returns settled sessions' unsold stock. */
  async lifecycle(now = new Date()): Promise<{ online: number; ended: number; returned: number }> {
    const out = { online: 0, ended: 0, returned: 0 };
    const k = this.keys;
    const due = await this.d.prisma.seckillSession.findMany({ where: { status: "SCHEDULED", startsAt: { lte: new Date(now.getTime() + (this.d.onlineLeadMs ?? 60_000)) } }, include: { items: true } });
    for (const s of due) {
      const m = this.d.redis.multi();
      m.hset(k.session(s.id), { status: "ONLINE", startsMs: s.startsAt.getTime(), endsMs: s.endsAt.getTime() });
      for (const i of s.items) {
        m.hset(k.item(s.id, i.skuId), { limit: i.perUserLimit, price: formatAmount(i.seckillPrice, i.currency), currency: i.currency });
        m.set(k.stock(s.id, i.skuId), i.stock, "NX"); // only the first time: a re-run never refills
        m.sadd(k.seckillSkus(), i.skuId);
      }
      await m.exec();
      const r = await this.d.prisma.seckillSession.updateMany({ where: { id: s.id, status: "SCHEDULED" }, data: { status: "ONLINE", onlineAt: now } });
      out.online += r.count;
    }
    const online = await this.d.prisma.seckillSession.findMany({ where: { status: "ONLINE" }, include: { items: { select: { skuId: true } } } });
    for (const s of online) {
      if (s.endsAt.getTime() > now.getTime()) {
        // keep the cart's set current (self-healing)
        if (s.items.length) await this.d.redis.sadd(k.seckillSkus(), ...s.items.map((i) => i.skuId));
        continue;
      }
      await this.d.redis.hset(k.session(s.id), "status", "ENDED");
      const stillOnline = new Set(online.filter((o) => o.id !== s.id && o.endsAt.getTime() > now.getTime()).flatMap((o) => o.items.map((i) => i.skuId)));
      const gone = s.items.map((i) => i.skuId).filter((sku) => !stillOnline.has(sku));
      if (gone.length) await this.d.redis.srem(k.seckillSkus(), ...gone);
      const r = await this.d.prisma.seckillSession.updateMany({ where: { id: s.id, status: "ONLINE" }, data: { status: "ENDED", endedAt: now } });
      out.ended += r.count;
    }
    const ended = await this.d.prisma.seckillSession.findMany({ where: { status: "ENDED", stockReturnedAt: null }, include: { items: true } });
    for (const s of ended) {
      let all = true;
      for (const i of s.items) {
        if (i.returnedStock != null) continue;
        const qty = await this.closeLua(k.session(s.id), k.open(s.id), k.stock(s.id, i.skuId), k.returned(s.id, i.skuId));
        if (qty < 0) {
          all = false;
          break;
        }
        if (qty > 0 && !(await this.d.catalog.returnSold(`seckill:${s.id}:${i.skuId}`, i.skuId, qty))) {
          this.d.log.error({ sessionId: s.id, skuId: i.skuId, qty }, "catalog refused the unsold seckill stock");
          all = false;
          continue;
        }
        await this.d.prisma.seckillItem.update({ where: { sessionId_skuId: { sessionId: s.id, skuId: i.skuId } }, data: { returnedStock: qty } });
      }
      if (all) {
        await this.d.prisma.seckillSession.update({ where: { id: s.id }, data: { stockReturnedAt: now } });
        out.returned++;
      }
    }
    return out;
  }

  /** The repeatable job: lifecycle, sweeper, order status poll. */
  async tick(): Promise<Record<string, number>> {
    const l = await this.lifecycle();
    const swept = await this.sweepPending();
    const p = await this.pollOrdered();
    // a session whose last reservation settled in this tick can return its stock now
    const again = p.cancelled + p.paid + swept > 0 ? await this.lifecycle() : { returned: 0 };
    return { ...l, returned: l.returned + again.returned, swept, ...p };
  }
}
