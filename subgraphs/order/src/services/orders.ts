/**
 * Order rules: placement (through the placeOrder workflow), reads, and every status change.
 *
 * A status change is one transaction: a conditional UPDATE on the expected `from` status (so two
 * racing writers never both move an order), a status-history row and an outbox row with the same
 * id (the live event id). After the commit the outbox rows are published, and the side effects in
 * other domains (release / confirm stock, refund) run — retried by a job when they fail.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import { AppError, ErrorCode, badInput } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { defineLua, keyFor } from "@mallgraph/platform/redis";
import type { Logger } from "@mallgraph/platform/log";
import type { Prisma, PrismaClient, OrderStatus as DbStatus } from "../generated/prisma/client.ts";
import { OrderCode, message } from "../errors.ts";
import { runPlaceOrder, type PlaceOrderState, type PricedLine } from "../workflows/placeOrder.ts";
import { WorkflowAbort } from "@mallgraph/platform/workflow";
import { apply, afterSaleAllowed, type OrderAction, type OrderStatus } from "./orderStateMachine.ts";
import { OutboxPublisher, ORDER_STATUS_TOPIC } from "./outbox.ts";
import type { CartPort, CatalogPort, MemberPort, PaymentPort, PromotionPort, StockLine } from "./ports.ts";
import type { OrderOutcome, OrderRecord, OrderTestHooks, PlaceOrderInput, PlaceOrderOutcome, SeckillOrderInput, SeckillOrderOutcome, TransitionOutcome } from "./types.ts";
import { uniqueTarget } from "../workflows/placeOrder.ts";

export const MAX_LINE_QUANTITY = 999;
export const MAX_LINES = 50;
/** Catalog keeps a reservation this much longer than the payment time-out, so our cancel job releases it first. */
const RESERVATION_MARGIN_SECONDS = 600;
const LOCK_TTL_MS = 30_000;
const LOCK_WAIT_MS = 20_000;

type Tx = Prisma.TransactionClient;

export const FollowUpJob = { releaseStock: "release-stock", confirmStock: "confirm-stock", requestRefund: "request-refund" } as const;
export const TimeoutJob = { cancelUnpaid: "cancel-unpaid", sweepExpired: "sweep-expired" } as const;

export interface OrderServiceDeps {
  prisma: PrismaClient;
  redis: Redis;
  prefix: string;
  paymentTimeoutSeconds: number;
  /** Payment time-out of SECKILL orders (default: paymentTimeoutSeconds). */
  seckillPaymentTimeoutSeconds?: number;
  catalog: CatalogPort;
  member: MemberPort;
  cart: CartPort;
  promotion: PromotionPort;
  payment: PaymentPort;
  outbox: OutboxPublisher;
  timeouts: Queue;
  followUps: Queue;
  nextOrderNo: (now?: Date) => Promise<string>;
  log: Logger;
  hooks?: OrderTestHooks;
}

interface MoveResult {
  code: string;
  order: OrderRecord | null;
  eventIds: string[];
}

export class OrderService {
  private readonly key;
  private readonly releaseLock;

  constructor(private readonly d: OrderServiceDeps) {
    this.key = keyFor(d.prefix, "order");
    this.releaseLock = defineLua<[string, string], number>(d.redis, "orderReleaseLock", new URL("../lua/releaseLock-orderLock.lua", import.meta.url), 1);
  }

  // =============================================================== placement

  async placeOrder(buyerId: string, input: PlaceOrderInput): Promise<PlaceOrderOutcome> {
    const idem = input.idempotencyKey?.trim() || randomUUID();
    if (idem.length > 64) throw badInput("idempotencyKey is at most 64 characters", { field: "idempotencyKey" });
    if (input.note && input.note.length > 200) throw badInput("note is at most 200 characters", { field: "note" });
    if (input.paymentMethod && input.paymentMethod.length > 32) throw badInput("paymentMethod is at most 32 characters", { field: "paymentMethod" });
    if (!input.addressId?.trim()) throw badInput("addressId is required", { field: "addressId" });

    const existing = await this.byIdempotencyKey(buyerId, idem);
    if (existing) return ok(existing);

    const lockKey = this.key("submit", buyerId, idem);
    const token = randomUUID();
    const deadline = Date.now() + LOCK_WAIT_MS;
    while ((await this.d.redis.set(lockKey, token, "PX", LOCK_TTL_MS, "NX")) !== "OK") {
      if (Date.now() > deadline) throw new AppError(ErrorCode.CONFLICT, "an order with this idempotency key is being placed; retry");
      await sleep(40);
    }
    try {
      const again = await this.byIdempotencyKey(buyerId, idem);
      if (again) return ok(again);
      return await this.placeLocked(buyerId, input, idem);
    } finally {
      await this.releaseLock(lockKey, token).catch(() => undefined);
    }
  }

  private async placeLocked(buyerId: string, input: PlaceOrderInput, idem: string): Promise<PlaceOrderOutcome> {
    const fromCart = input.fromCart === true;
    let requested: StockLine[];
    if (fromCart) {
      requested = await this.d.cart.checkedLines(buyerId);
      if (!requested.length) return refuse(OrderCode.EMPTY_CART);
    } else {
      if (!input.items?.length) throw badInput("items are required for a direct buy (or set fromCart)", { field: "items" });
      requested = input.items;
    }
    // merge repeated SKUs, validate quantities
    const merged = new Map<string, number>();
    for (const l of requested) {
      if (typeof l.skuId !== "string" || !l.skuId.trim() || l.skuId.length > 64) throw badInput("skuId must be a non-empty id", { field: "items.skuId" });
      if (!Number.isInteger(l.quantity) || l.quantity < 1) return refuse(OrderCode.BAD_QUANTITY, l.skuId);
      merged.set(l.skuId, (merged.get(l.skuId) ?? 0) + l.quantity);
    }
    if (merged.size > MAX_LINES) throw badInput(`at most ${MAX_LINES} lines per order`, { field: "items" });
    for (const [skuId, q] of merged) if (q > MAX_LINE_QUANTITY) return refuse(OrderCode.BAD_QUANTITY, skuId);

    // the three reads are independent: one round trip instead of three
    const ids = [...merged.keys()];
    const seckill = keyFor(this.d.prefix, "promotion")("seckill-skus");
    const [address, snaps, seckillFlags] = await Promise.all([
      this.d.member.address(buyerId, input.addressId),
      this.d.catalog.skuSnapshots(ids),
      this.d.redis.smismember(seckill, ...ids),
    ]);
    if (!address) return refuse(OrderCode.ADDRESS_NOT_FOUND);
    const lines: PricedLine[] = [];
    for (let i = 0; i < ids.length; i++) {
      const skuId = ids[i]!;
      const snap = snaps[i];
      const quantity = merged.get(skuId)!;
      if (!snap) return refuse(OrderCode.NOT_FOUND, skuId);
      if (seckillFlags[i]) return refuse(OrderCode.SECKILL_NOT_ALLOWED, skuId);
      if (!snap.onShelf) return refuse(OrderCode.OFF_SHELF, skuId);
      if (snap.available < quantity) return refuse(OrderCode.OUT_OF_STOCK, skuId);
      const price = new Decimal(snap.price);
      lines.push({ skuId, quantity, snapshot: snap, price, subtotal: price.times(quantity) });
    }
    const currency = lines[0]!.snapshot.currency;
    if (lines.some((l) => l.snapshot.currency !== currency)) return refuse(OrderCode.MIXED_CURRENCY);

    const orderId = randomUUID();
    const state: PlaceOrderState = {
      orderId,
      buyerId,
      idempotencyKey: idem,
      reservationKey: `order:${orderId}`,
      fromCart,
      lines,
      currency,
      itemsTotal: lines.reduce((sum, l) => sum.plus(l.subtotal), new Decimal(0)),
      discount: new Decimal(0),
      address: { id: address.id, receiver: address.receiver, phone: address.phone, region: address.region, detail: address.detail },
      couponId: input.couponId ?? null,
      note: input.note ?? null,
      paymentMethod: input.paymentMethod ?? null,
      expiresAt: new Date(Date.now() + this.d.paymentTimeoutSeconds * 1000),
      reservationTtlSeconds: this.d.paymentTimeoutSeconds + RESERVATION_MARGIN_SECONDS,
      eventIds: [],
    };
    try {
      await runPlaceOrder({ prisma: this.d.prisma, catalog: this.d.catalog, cart: this.d.cart, promotion: this.d.promotion, nextOrderNo: this.d.nextOrderNo, log: this.d.log }, state, this.d.hooks?.placeOrder);
    } catch (e) {
      if (e instanceof WorkflowAbort) {
        if (e.code === "DUPLICATE") {
          const dup = await this.byIdempotencyKey(buyerId, idem);
          if (dup) return ok(dup);
        }
        return refuse(e.code, (e.details.failedSkuId as string | null | undefined) ?? null);
      }
      throw e;
    }
    await this.scheduleTimeout(orderId, state.expiresAt);
    await this.d.outbox.publish(state.eventIds);
    return ok(await this.get(orderId));
  }

  /**
   * The SECKILL order of one promotion seckill reservation (internal; promotion's order worker).
   * The stock already left catalog when the session was set up, so no catalog reservation is
   * made: `reservationKey` is `seckill:<reservationId>`, unknown to catalog, so the release on
   * cancel and the confirm on payment are no-ops there (promotion returns a cancelled order's
   * stock to its session). Idempotent per reservationId (unique column): a repeated or
   * concurrent call answers OK with the same order.
   */
  async createSeckill(input: SeckillOrderInput): Promise<SeckillOrderOutcome> {
    const { reservationId, buyerId, skuId, quantity, currency } = input;
    for (const [f, v] of [["reservationId", reservationId], ["buyerId", buyerId], ["skuId", skuId]] as const)
      if (typeof v !== "string" || !v.trim() || v.length > 64) throw badInput(`${f} must be a non-empty id`, { field: f });
    const existing = await this.bySeckillReservation(reservationId);
    if (existing) return seckillOk(existing);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) return { code: OrderCode.BAD_QUANTITY, orderId: null, status: null };
    const price = parseAmount(input.unitPrice, currency, { field: "unitPrice", allowZero: true });
    let address: Record<string, string> = {};
    if (input.addressId) {
      const a = await this.d.member.address(buyerId, input.addressId);
      if (!a) return { code: OrderCode.ADDRESS_NOT_FOUND, orderId: null, status: null };
      address = { id: a.id, receiver: a.receiver, phone: a.phone, region: a.region, detail: a.detail };
    }
    const [snap] = await this.d.catalog.skuSnapshots([skuId]);
    const orderId = randomUUID();
    const eventId = randomUUID();
    const total = formatAmount(price.times(quantity), currency);
    const timeout = this.d.seckillPaymentTimeoutSeconds ?? this.d.paymentTimeoutSeconds;
    const expiresAt = new Date(Date.now() + timeout * 1000);
    for (let attempt = 0; ; attempt++) {
      const orderNo = await this.d.nextOrderNo();
      try {
        await this.d.prisma.$transaction(async (tx) => {
          await tx.order.create({
            data: {
              id: orderId, orderNo, buyerId, kind: "SECKILL", status: "PENDING_PAYMENT", currency,
              itemsTotal: total, discount: formatAmount(0, currency), payable: total,
              address, addressId: input.addressId ?? "",
              idempotencyKey: `seckill:${reservationId}`, seckillReservationId: reservationId,
              reservationKey: `seckill:${reservationId}`, expiresAt,
              items: { create: [{ id: randomUUID(), skuId, spuId: snap?.spuId ?? null, title: snap?.title ?? `SKU ${skuId}`, image: snap?.image ?? null, price: formatAmount(price, currency), quantity, subtotal: total }] },
            },
          });
          await tx.orderStatusChange.create({ data: { id: eventId, orderId, from: null, to: "PENDING_PAYMENT", reason: "SECKILL", actor: buyerId } });
          await tx.orderOutbox.create({ data: { id: eventId, orderId, buyerId, topic: ORDER_STATUS_TOPIC, payload: { status: "PENDING_PAYMENT", previousStatus: null } } });
        });
        break;
      } catch (e) {
        const target = uniqueTarget(e);
        if (target?.includes("seckillReservationId") || target?.includes("idempotencyKey")) {
          const dup = await this.bySeckillReservation(reservationId);
          if (dup) return seckillOk(dup);
        }
        if (target?.includes("orderNo") && attempt < 3) continue;
        throw e;
      }
    }
    await this.scheduleTimeout(orderId, expiresAt);
    await this.d.outbox.publish([eventId]);
    return { code: OrderCode.OK, orderId, status: "PENDING_PAYMENT" };
  }

  private bySeckillReservation(reservationId: string) {
    return this.d.prisma.order.findUnique({ where: { seckillReservationId: reservationId }, select: { id: true, status: true } });
  }

  private async scheduleTimeout(orderId: string, expiresAt: Date): Promise<void> {
    try {
      await this.d.timeouts.add(TimeoutJob.cancelUnpaid, { orderId }, { jobId: `cancel-unpaid-${orderId}`, delay: Math.max(0, expiresAt.getTime() - Date.now()) });
    } catch (e) {
      this.d.log.warn({ err: e, orderId }, "could not schedule the payment time-out; the sweep job covers it");
    }
  }

  // =============================================================== reads

  async get(id: string): Promise<OrderRecord | null> {
    return this.d.prisma.order.findUnique({ where: { id }, include: { items: { orderBy: { skuId: "asc" } } } });
  }

  async getMany(ids: readonly string[]): Promise<Array<OrderRecord | null>> {
    const rows = await this.d.prisma.order.findMany({ where: { id: { in: [...ids] } }, include: { items: { orderBy: { skuId: "asc" } } } });
    const by = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => by.get(id) ?? null);
  }

  /** The buyer's own order; null when absent or someone else's. */
  async getForBuyer(id: string, buyerId: string): Promise<OrderRecord | null> {
    const o = await this.get(id);
    return o && o.buyerId === buyerId ? o : null;
  }

  private byIdempotencyKey(buyerId: string, idempotencyKey: string) {
    return this.d.prisma.order.findUnique({ where: { buyerId_idempotencyKey: { buyerId, idempotencyKey } }, include: { items: { orderBy: { skuId: "asc" } } } });
  }

  /** Newest first, keyset-paginated by (createdAt, id). */
  async list(filter: { buyerId?: string; status?: OrderStatus | null }, first = 20, after?: string | null): Promise<{ nodes: OrderRecord[]; hasNextPage: boolean; endCursor: string | null }> {
    const take = Math.min(Math.max(first ?? 20, 1), 100);
    const where: Prisma.OrderWhereInput = {};
    if (filter.buyerId) where.buyerId = filter.buyerId;
    if (filter.status) where.status = filter.status as DbStatus;
    if (after) {
      const [ts, id] = decodeCursor(after);
      where.OR = [{ createdAt: { lt: ts } }, { createdAt: ts, id: { lt: id } }];
    }
    const rows = await this.d.prisma.order.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: take + 1, include: { items: { orderBy: { skuId: "asc" } } } });
    const nodes = rows.slice(0, take);
    const last = nodes[nodes.length - 1];
    return { nodes, hasNextPage: rows.length > take, endCursor: last ? encodeCursor(last.createdAt, last.id) : null };
  }

  history(orderId: string) {
    return this.d.prisma.orderStatusChange.findMany({ where: { orderId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  }

  shipment(orderId: string) {
    return this.d.prisma.shipment.findUnique({ where: { orderId }, include: { events: { orderBy: { occurredAt: "asc" } } } });
  }

  afterSales(orderId: string) {
    return this.d.prisma.afterSale.findMany({ where: { orderId }, orderBy: { createdAt: "asc" } });
  }

  listAfterSales(status: string | null | undefined, first = 50) {
    return this.d.prisma.afterSale.findMany({ where: status ? { status: status as any } : {}, orderBy: { createdAt: "desc" }, take: Math.min(Math.max(first, 1), 200) });
  }

  /** One live event's payload, only for the order's buyer. */
  async statusEvent(orderId: string, eventId: string, viewerId: string | undefined) {
    if (!viewerId) return null;
    const ev = await this.d.prisma.orderStatusChange.findFirst({ where: { id: eventId, orderId }, include: { order: true } });
    if (!ev || ev.order.buyerId !== viewerId) return null;
    return { eventId: ev.id, status: ev.to, previousStatus: ev.from, at: ev.createdAt, orderId: ev.orderId };
  }

  // =============================================================== internal reads

  async forPayment(id: string) {
    const o = await this.get(id);
    if (!o) return null;
    const first = o.items?.[0];
    const count = o.items?.length ?? 0;
    return {
      id: o.id,
      orderNo: o.orderNo,
      buyerId: o.buyerId,
      status: o.status,
      payable: formatAmount(o.payable, o.currency),
      currency: o.currency,
      subject: first ? (count > 1 ? `${first.title} and ${count - 1} more` : first.title) : `Order ${o.orderNo}`,
    };
  }

  async purchaseVerified(orderId: string, memberId: string, skuId: string): Promise<boolean> {
    const n = await this.d.prisma.order.count({ where: { id: orderId, buyerId: memberId, status: "COMPLETED", items: { some: { skuId } } } });
    return n > 0;
  }

  // =============================================================== status changes

  /** Buyer cancels an unpaid order; the stock goes back. */
  async cancel(orderId: string, buyerId: string): Promise<OrderOutcome> {
    const o = await this.getForBuyer(orderId, buyerId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", order: null };
    const r = await this.move(orderId, "cancel", { reason: "BUYER_CANCELLED", actor: buyerId, patch: () => ({ cancelledAt: new Date(), cancelReason: "BUYER_CANCELLED" }) });
    if (r.code === OrderCode.OK) await this.afterCancel(r.order!);
    return { code: r.code, message: message(r.code), order: r.order };
  }

  /**
   * The payment time-out: cancels when still unpaid and due. Returns "NOT_DUE" (with the delay
   * left) when run early, so the job can come back later.
   */
  async cancelIfUnpaid(orderId: string, now = new Date()): Promise<{ code: string; retryInMs?: number }> {
    const o = await this.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND };
    if (o.status !== "PENDING_PAYMENT") return { code: OrderCode.INVALID_STATE };
    if (o.expiresAt.getTime() > now.getTime() + 500) return { code: "NOT_DUE", retryInMs: o.expiresAt.getTime() - now.getTime() };
    const r = await this.move(orderId, "timeout", { reason: "PAYMENT_TIMEOUT", actor: "system", patch: () => ({ cancelledAt: new Date(), cancelReason: "PAYMENT_TIMEOUT" }) });
    if (r.code === OrderCode.OK) await this.afterCancel(r.order!);
    return { code: r.code };
  }

  /** Unpaid orders past their time-out whose delayed job was lost. */
  async sweepExpired(limit = 100): Promise<number> {
    const due = await this.d.prisma.order.findMany({ where: { status: "PENDING_PAYMENT", expiresAt: { lt: new Date(Date.now() - 5000) } }, select: { id: true }, take: limit });
    let n = 0;
    for (const { id } of due) if ((await this.cancelIfUnpaid(id)).code === OrderCode.OK) n++;
    return n;
  }

  private async afterCancel(order: OrderRecord): Promise<void> {
    await this.followUp(FollowUpJob.releaseStock, { key: order.reservationKey, orderId: order.id }, () => this.d.catalog.release(order.reservationKey));
    if (order.couponId) await this.d.promotion.releaseCoupon(order.id).catch((e) => this.d.log.warn({ err: e, orderId: order.id }, "coupon release failed"));
  }

  /** Payment succeeded (internal, idempotent per payment). */
  async markPaid(orderId: string, paymentId: string, channel: string): Promise<TransitionOutcome> {
    if (!paymentId?.trim() || !channel?.trim()) throw badInput("paymentId and channel are required");
    const o = await this.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND, status: null };
    if (o.paymentId === paymentId) return { code: OrderCode.OK, status: o.status };
    const r = await this.move(orderId, "pay", { reason: `PAID:${channel}`, actor: "payment", patch: () => ({ paymentId, paymentChannel: channel, paidAt: new Date() }) });
    if (r.code === OrderCode.OK) {
      const order = r.order!;
      await this.followUp(FollowUpJob.confirmStock, { key: order.reservationKey, orderId }, () => this.d.catalog.confirm(order.reservationKey));
      if (order.couponId) await this.d.promotion.consumeCoupon(orderId).catch((e) => this.d.log.warn({ err: e, orderId }, "coupon consume failed"));
      return { code: OrderCode.OK, status: order.status };
    }
    const now = r.order ?? (await this.get(orderId));
    if (now?.paymentId === paymentId) return { code: OrderCode.OK, status: now.status };
    return { code: OrderCode.INVALID_STATE, status: now?.status ?? null };
  }

  async ship(orderId: string, carrier: string, trackingNo: string, actor: string): Promise<OrderOutcome> {
    carrier = carrier?.trim();
    trackingNo = trackingNo?.trim();
    if (!carrier || carrier.length > 64) throw badInput("carrier is required (at most 64 characters)", { field: "carrier" });
    if (!trackingNo || trackingNo.length > 64) throw badInput("trackingNo is required (at most 64 characters)", { field: "trackingNo" });
    const r = await this.move(orderId, "ship", {
      reason: "SHIPPED",
      actor,
      patch: () => ({ shippedAt: new Date() }),
      inTx: async (tx) => {
        await tx.shipment.create({ data: { id: randomUUID(), orderId, carrier, trackingNo } });
      },
    });
    return { code: r.code, message: message(r.code), order: r.order };
  }

  async addTrackingEvent(orderId: string, ev: { status: string; description?: string | null; location?: string | null; occurredAt?: string | null }): Promise<OrderOutcome> {
    if (!ev.status?.trim() || ev.status.length > 64) throw badInput("status is required (at most 64 characters)", { field: "event.status" });
    if ((ev.description?.length ?? 0) > 500 || (ev.location?.length ?? 0) > 200) throw badInput("description or location too long", { field: "event" });
    const at = ev.occurredAt ? new Date(ev.occurredAt) : new Date();
    if (Number.isNaN(at.getTime())) throw badInput("occurredAt must be an ISO time", { field: "event.occurredAt" });
    const o = await this.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", order: null };
    const s = await this.d.prisma.shipment.findUnique({ where: { orderId } });
    if (!s) return { code: OrderCode.INVALID_STATE, message: "the order has not been shipped", order: o };
    await this.d.prisma.trackingEvent.create({ data: { id: randomUUID(), shipmentId: s.id, status: ev.status.trim(), description: ev.description ?? null, location: ev.location ?? null, occurredAt: at } });
    return { code: OrderCode.OK, message: null, order: o };
  }

  async confirmReceipt(orderId: string, buyerId: string): Promise<OrderOutcome> {
    const o = await this.getForBuyer(orderId, buyerId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", order: null };
    const r = await this.move(orderId, "confirmReceipt", { reason: "RECEIVED", actor: buyerId, patch: () => ({ completedAt: new Date() }) });
    return { code: r.code, message: message(r.code), order: r.order };
  }

  // =============================================================== after-sales and refunds

  async requestAfterSale(orderId: string, buyerId: string, type: "RETURN" | "REFUND", reason: string) {
    reason = reason?.trim();
    if (!reason || reason.length > 500) throw badInput("reason is required (at most 500 characters)", { field: "reason" });
    const o = await this.getForBuyer(orderId, buyerId);
    if (!o) return { code: OrderCode.NOT_FOUND, message: "no such order", afterSale: null };
    return this.d.prisma.$transaction(async (tx) => {
      const locked = await lockOrder(tx, orderId);
      if (!afterSaleAllowed(locked.status as OrderStatus)) return { code: OrderCode.INVALID_STATE, message: message(OrderCode.INVALID_STATE), afterSale: null };
      const open = await tx.afterSale.findFirst({ where: { orderId, status: { in: ["REQUESTED", "APPROVED"] } } });
      if (open) return { code: OrderCode.ALREADY_REQUESTED, message: message(OrderCode.ALREADY_REQUESTED), afterSale: open };
      const amount = new Decimal(locked.payable.toString()).minus(locked.refundedAmount.toString());
      const afterSale = await tx.afterSale.create({ data: { id: randomUUID(), orderId, buyerId, type, reason, amount: amount.toFixed() } });
      return { code: OrderCode.OK, message: null, afterSale };
    });
  }

  /** Operator decision. Approving moves the order to REFUNDING and asks payment to refund. */
  async reviewAfterSale(id: string, approve: boolean, note: string | null | undefined, actor: string) {
    if ((note?.length ?? 0) > 500) throw badInput("note is at most 500 characters", { field: "note" });
    const events: string[] = [];
    const res = await this.d.prisma.$transaction(async (tx) => {
      const a = await tx.afterSale.findUnique({ where: { id } });
      if (!a) return { code: OrderCode.NOT_FOUND, message: "no such after-sales request", afterSale: null };
      const order = await lockOrder(tx, a.orderId);
      const changed = await tx.afterSale.updateMany({ where: { id, status: "REQUESTED" }, data: { status: approve ? "APPROVED" : "REJECTED", decisionNote: note ?? null, decidedBy: actor } });
      if (changed.count !== 1) return { code: OrderCode.INVALID_STATE, message: "the request was already decided", afterSale: a };
      if (approve) {
        const ev = await this.moveInTx(tx, order, "startRefund", { reason: `AFTER_SALE:${a.type}`, actor });
        if (!ev) throw new AbortTx({ code: OrderCode.INVALID_STATE, message: message(OrderCode.INVALID_STATE), afterSale: a });
        events.push(ev);
      }
      return { code: OrderCode.OK, message: null, afterSale: await tx.afterSale.findUniqueOrThrow({ where: { id } }) };
    }).catch((e) => {
      if (e instanceof AbortTx) return e.result as { code: string; message: string | null; afterSale: any };
      throw e;
    });
    await this.d.outbox.publish(events);
    if (res.code === OrderCode.OK && approve) {
      const a = res.afterSale!;
      const order = (await this.get(a.orderId))!;
      const amount = formatAmount(a.amount, order.currency);
      await this.followUp(FollowUpJob.requestRefund, { orderId: a.orderId, amount, reason: a.reason, reference: a.id }, async () => {
        const code = await this.d.payment.refundOrderPayment(a.orderId, amount, a.reason, a.id);
        if (code !== "OK") this.d.log.warn({ orderId: a.orderId, afterSaleId: a.id, code }, "payment refused the refund");
      });
    }
    return res;
  }

  /** Payment booked a refund (internal, idempotent per refundId). */
  async markRefunded(orderId: string, refundId: string, amountText: string): Promise<TransitionOutcome> {
    if (!refundId?.trim()) throw badInput("refundId is required", { field: "refundId" });
    const o = await this.get(orderId);
    if (!o) return { code: OrderCode.NOT_FOUND, status: null };
    const amount = parseAmount(amountText, o.currency, { field: "amount" });
    const events: string[] = [];
    const res = await this.d.prisma.$transaction(async (tx): Promise<TransitionOutcome> => {
      let order = await lockOrder(tx, orderId);
      if (await tx.orderRefund.findUnique({ where: { refundId } })) return { code: OrderCode.OK, status: order.status };
      if (!["PAID", "SHIPPED", "REFUNDING", "COMPLETED"].includes(order.status)) return { code: OrderCode.INVALID_STATE, status: order.status };
      const refunded = new Decimal(order.refundedAmount.toString()).plus(amount);
      const payable = new Decimal(order.payable.toString());
      if (refunded.greaterThan(payable)) return { code: OrderCode.INVALID_AMOUNT, status: order.status };
      await tx.orderRefund.create({ data: { refundId, orderId, amount: amount.toFixed() } });
      await tx.order.update({ where: { id: orderId }, data: { refundedAmount: refunded.toFixed() } });
      order = await lockOrder(tx, orderId);
      const full = refunded.equals(payable);
      if (full && (order.status === "PAID" || order.status === "SHIPPED")) {
        const ev = await this.moveInTx(tx, order, "startRefund", { reason: "REFUNDED_BY_PAYMENT", actor: "payment" });
        if (ev) events.push(ev);
        order = await lockOrder(tx, orderId);
      }
      if (order.status === "REFUNDING") {
        const ev = await this.moveInTx(tx, order, "finishRefund", { reason: `REFUND:${refundId}`, actor: "payment" });
        if (ev) events.push(ev);
        await tx.afterSale.updateMany({ where: { orderId, status: "APPROVED" }, data: { status: "COMPLETED" } });
        order = await lockOrder(tx, orderId);
      }
      return { code: OrderCode.OK, status: order.status };
    });
    await this.d.outbox.publish(events);
    return res;
  }

  // =============================================================== helpers

  /**
   * Applies `action` to an order: conditional UPDATE on the status read, history + outbox in the
   * same transaction, outbox published after commit. A lost race re-reads and decides again.
   */
  private async move(
    orderId: string,
    action: OrderAction,
    opts: { reason: string; actor: string; patch?: () => Prisma.OrderUpdateManyMutationInput; inTx?: (tx: Tx) => Promise<void> },
  ): Promise<MoveResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const order = await this.get(orderId);
      if (!order) return { code: OrderCode.NOT_FOUND, order: null, eventIds: [] };
      if (!apply(order.status as OrderStatus, action)) return { code: OrderCode.INVALID_STATE, order, eventIds: [] };
      const eventId = await this.d.prisma.$transaction(async (tx) => {
        const ev = await this.moveInTx(tx, order, action, opts);
        if (ev && opts.inTx) await opts.inTx(tx);
        return ev;
      });
      if (eventId) {
        await this.d.outbox.publish([eventId]);
        return { code: OrderCode.OK, order: await this.get(orderId), eventIds: [eventId] };
      }
    }
    const order = await this.get(orderId);
    return { code: OrderCode.INVALID_STATE, order, eventIds: [] };
  }

  /** Inside a transaction: moves `order` (as read) by `action`; the event id, or null when the status changed meanwhile. */
  private async moveInTx(tx: Tx, order: { id: string; buyerId: string; status: string }, action: OrderAction, opts: { reason: string; actor: string; patch?: () => Prisma.OrderUpdateManyMutationInput }): Promise<string | null> {
    const from = order.status as OrderStatus;
    const to = apply(from, action);
    if (!to) return null;
    const r = await tx.order.updateMany({ where: { id: order.id, status: from as DbStatus }, data: { ...(opts.patch?.() ?? {}), status: to as DbStatus } });
    if (r.count !== 1) return null;
    const id = randomUUID();
    await tx.orderStatusChange.create({ data: { id, orderId: order.id, from: from as DbStatus, to: to as DbStatus, reason: opts.reason, actor: opts.actor } });
    await tx.orderOutbox.create({ data: { id, orderId: order.id, buyerId: order.buyerId, topic: ORDER_STATUS_TOPIC, payload: { status: to, previousStatus: from } } });
    return id;
  }

  /** Runs a cross-domain follow-up now; when it fails, a job retries it (idempotent on the other side). */
  private async followUp(job: string, data: Record<string, unknown>, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (e) {
      this.d.log.warn({ err: e, job, ...data }, "follow-up failed; queued for retry");
      await this.d.followUps.add(job, data, { attempts: 20, backoff: { type: "exponential", delay: 1000 } }).catch((qe) => this.d.log.error({ err: qe, job, ...data }, "could not queue follow-up"));
    }
  }

  /** Runs a queued follow-up (worker). */
  async runFollowUp(job: string, data: any): Promise<void> {
    if (job === FollowUpJob.releaseStock) await this.d.catalog.release(data.key);
    else if (job === FollowUpJob.confirmStock) await this.d.catalog.confirm(data.key);
    else if (job === FollowUpJob.requestRefund) await this.d.payment.refundOrderPayment(data.orderId, data.amount, data.reason, data.reference);
    else throw new Error(`unknown follow-up ${job}`);
  }
}

class AbortTx extends Error {
  constructor(public readonly result: unknown) {
    super("transaction aborted");
  }
}

/** Locks the order row for the rest of the transaction (SELECT … FOR UPDATE) and returns it. */
async function lockOrder(tx: Tx, orderId: string) {
  await tx.$queryRaw`SELECT id FROM "Order" WHERE id = ${orderId} FOR UPDATE`;
  return tx.order.findUniqueOrThrow({ where: { id: orderId } });
}

function seckillOk(o: { id: string; status: string }): SeckillOrderOutcome {
  return { code: OrderCode.OK, orderId: o.id, status: o.status };
}

function ok(order: OrderRecord | null): PlaceOrderOutcome {
  return { code: OrderCode.OK, message: null, failedSkuId: null, order };
}

function refuse(code: string, failedSkuId: string | null = null): PlaceOrderOutcome {
  return { code, message: message(code), failedSkuId, order: null };
}

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString("base64url");
}

function decodeCursor(c: string): [Date, string] {
  const [ts, id] = Buffer.from(c, "base64url").toString("utf8").split("|");
  const d = new Date(ts ?? "");
  if (!id || Number.isNaN(d.getTime())) throw badInput("bad cursor", { field: "after" });
  return [d, id];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
