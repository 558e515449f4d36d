/**
 * OrderService: the order domain's one entry point for resolvers and jobs. It only composes the
 * use cases, each in its own file:
 *   place.ts        placing an order (cart or direct buy)
 *   seckill.ts      the SECKILL order of a promotion reservation (internal)
 *   prize.ts        the PRIZE order of a lottery draw (internal)
 *   read.ts         reads (own / admin / internal)
 *   lifecycle.ts    cancel, payment time-out, paid, shipped, tracking, received
 *   after-sales.ts  after-sales requests and decisions, refunds booked by payment
 * with the mechanics they share in transitions.ts (status changes), follow-ups.ts (jobs) and
 * shared.ts (dependencies, limits).
 */
import { AfterSales, type AfterSaleLineInput } from "./after-sales.ts";
import { OrderFollowUps, type FollowUpData } from "./follow-ups.ts";
import { OrderLifecycle } from "./lifecycle.ts";
import type { OrderStatus } from "./orderStateMachine.ts";
import { OrderPlacement } from "./place.ts";
import { PrizeOrders } from "./prize.ts";
import { OrderReads } from "./read.ts";
import { SeckillOrders } from "./seckill.ts";
import type { OrderServiceDeps } from "./shared.ts";
import { OrderTransitions } from "./transitions.ts";
import type { OrderRecord, PlaceOrderInput, PrizeOrderInput, SeckillOrderInput } from "./types.ts";

export { FollowUpJob, TimeoutJob } from "./follow-ups.ts";
export { MAX_LINE_QUANTITY, MAX_LINES, type OrderServiceDeps } from "./shared.ts";

export class OrderService {
  private readonly reads: OrderReads;
  private readonly placement: OrderPlacement;
  private readonly seckill: SeckillOrders;
  private readonly prize: PrizeOrders;
  private readonly lifecycle: OrderLifecycle;
  private readonly afterSale: AfterSales;
  private readonly jobs: OrderFollowUps;

  constructor(d: OrderServiceDeps) {
    this.reads = new OrderReads(d.prisma);
    this.jobs = new OrderFollowUps(d);
    const transitions = new OrderTransitions(d, this.reads);
    this.placement = new OrderPlacement(d, this.reads);
    this.seckill = new SeckillOrders(d);
    this.prize = new PrizeOrders(d);
    this.lifecycle = new OrderLifecycle(d, this.reads, transitions, this.jobs);
    this.afterSale = new AfterSales(d, this.reads, this.jobs);
  }

  // placement
  placeOrder(buyerId: string, input: PlaceOrderInput) {
    return this.placement.placeOrder(buyerId, input);
  }
  createSeckill(input: SeckillOrderInput) {
    return this.seckill.createSeckill(input);
  }
  createSeckillBatch(inputs: SeckillOrderInput[]) {
    return this.seckill.createSeckillBatch(inputs);
  }
  createPrize(input: PrizeOrderInput) {
    return this.prize.createPrize(input);
  }

  // reads
  get(id: string) {
    return this.reads.get(id);
  }
  getMany(ids: readonly string[]) {
    return this.reads.getMany(ids);
  }
  getForBuyer(id: string, buyerId: string) {
    return this.reads.getForBuyer(id, buyerId);
  }
  list(filter: { buyerId?: string; status?: OrderStatus | null }, first?: number, after?: string | null) {
    return this.reads.list(filter, first, after);
  }
  history(orderId: string) {
    return this.reads.history(orderId);
  }
  shipment(orderId: string) {
    return this.reads.shipment(orderId);
  }
  afterSales(orderId: string) {
    return this.reads.afterSales(orderId);
  }
  afterSaleLines(afterSaleId: string) {
    return this.reads.afterSaleLines(afterSaleId);
  }
  listAfterSales(status: string | null | undefined, first?: number) {
    return this.reads.listAfterSales(status, first);
  }
  statusEvent(orderId: string, eventId: string, viewerId: string | undefined) {
    return this.reads.statusEvent(orderId, eventId, viewerId);
  }
  forPayment(id: string, load?: (id: string) => Promise<OrderRecord | null>) {
    return this.reads.forPayment(id, load);
  }
  purchaseVerified(orderId: string, memberId: string, skuId: string) {
    return this.reads.purchaseVerified(orderId, memberId, skuId);
  }
  memberOpenOrders(memberId: string) {
    return this.reads.memberOpenOrders(memberId);
  }
  memberOrdersExport(memberId: string) {
    return this.reads.memberOrdersExport(memberId);
  }

  // status changes
  cancel(orderId: string, buyerId: string) {
    return this.lifecycle.cancel(orderId, buyerId);
  }
  cancelIfUnpaid(orderId: string, now?: Date) {
    return this.lifecycle.cancelIfUnpaid(orderId, now);
  }
  cancelUnpaidBatch(orderIds: string[], now?: Date) {
    return this.lifecycle.cancelUnpaidBatch(orderIds, now);
  }
  sweepExpired(limit?: number, budgetMs?: number) {
    return this.lifecycle.sweepExpired(limit, budgetMs);
  }
  markPaid(orderId: string, paymentId: string, channel: string) {
    return this.lifecycle.markPaid(orderId, paymentId, channel);
  }
  ship(orderId: string, carrier: string, trackingNo: string, actor: string) {
    return this.lifecycle.ship(orderId, carrier, trackingNo, actor);
  }
  addTrackingEvent(orderId: string, ev: Parameters<OrderLifecycle["addTrackingEvent"]>[1]) {
    return this.lifecycle.addTrackingEvent(orderId, ev);
  }
  confirmReceipt(orderId: string, buyerId: string) {
    return this.lifecycle.confirmReceipt(orderId, buyerId);
  }

  // after-sales and refunds
  requestAfterSale(orderId: string, buyerId: string, type: "RETURN" | "REFUND", reason: string, lines?: AfterSaleLineInput[] | null) {
    return this.afterSale.requestAfterSale(orderId, buyerId, type, reason, lines);
  }
  reviewAfterSale(id: string, approve: boolean, note: string | null | undefined, actor: string) {
    return this.afterSale.reviewAfterSale(id, approve, note, actor);
  }
  markRefunded(orderId: string, refundId: string, amount: string, reference?: string | null) {
    return this.afterSale.markRefunded(orderId, refundId, amount, reference);
  }

  // jobs
  runFollowUp(job: string, data: FollowUpData) {
    return this.jobs.runFollowUp(job, data);
  }
}
