/**
 * Placing an order, as a saga (docs: ARCHITECTURE "Multi-step writes are workflows"):
 *
 *   reserveStock  → catalog inventoryReserve(key = "order:<orderId>")   ⟲ inventoryRelease(key)
 *   lockCoupon    → promotion couponLock at the quote's coupon discount
 *                   (idempotent per orderId)                             ⟲ couponRelease(orderId)
 *   createOrder   → one DB transaction: order + items + status history
 *                   + outbox row                                         ⟲ delete the order
 *   removeFromCart→ cart cartRemoveSkus (fromCart only; best-effort, after the commit)
 *
 * A failure in any step undoes the earlier ones in reverse. Unit prices come only from the catalog's
 * snapshots taken just before; discounts only from promotion's quote of those lines (the caller,
 * services/place.ts, asks for it before the first step). The caller (OrderService.placeOrder) serialises submissions with
 * one idempotency key, and the unique (buyerId, idempotencyKey) index is the final guard.
 */
import { randomUUID } from "node:crypto";
import { uniqueViolationTarget } from "@mallgraph/platform/db-errors";
import type { Logger } from "@mallgraph/platform/log";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import { runWorkflow, WorkflowAbort, type Step, type WorkflowHooks } from "@mallgraph/platform/workflow";
import type { PrismaClient } from "../generated/prisma/client.ts";
import { ORDER_STATUS_TOPIC } from "../services/outbox.ts";
import type { AddressSnapshot, CartPort, CatalogPort, PromotionPort, SkuSnapshot, StockLine } from "../services/ports.ts";

export interface PricedLine {
  skuId: string;
  quantity: number;
  snapshot: SkuSnapshot;
  price: Decimal;
  subtotal: Decimal;
  /** The promotions' share of the line (promotion's quote). */
  discount: Decimal;
  /** subtotal − discount. */
  payable: Decimal;
}

export interface PlaceOrderState {
  orderId: string;
  buyerId: string;
  idempotencyKey: string;
  reservationKey: string;
  fromCart: boolean;
  lines: PricedLine[];
  currency: string;
  itemsTotal: Decimal;
  /** Campaigns and coupon (the sum of the lines' discounts). */
  discount: Decimal;
  address: AddressSnapshot;
  couponId: string | null;
  /** The coupon's part of `discount` (locked at this amount). */
  couponDiscount: Decimal;
  note: string | null;
  paymentMethod: string | null;
  expiresAt: Date;
  reservationTtlSeconds: number;
  /** Set by createOrder. */
  orderNo?: string;
  eventIds: string[];
}

export interface PlaceOrderDeps {
  prisma: PrismaClient;
  catalog: CatalogPort;
  cart: CartPort;
  promotion: PromotionPort;
  nextOrderNo: () => Promise<string>;
  log: Logger;
}

export function placeOrderSteps(deps: PlaceOrderDeps): Step<PlaceOrderState>[] {
  return [
    {
      id: "reserveStock",
      // A timed-out reserve call may still have reserved: release (idempotent) in that case too.
      compensateOnError: true,
      async invoke(s) {
        const lines: StockLine[] = s.lines.map((l) => ({ skuId: l.skuId, quantity: l.quantity }));
        const r = await deps.catalog.reserve(s.reservationKey, lines, s.reservationTtlSeconds);
        if (r.code !== "OK") throw new WorkflowAbort(r.code === "RELEASED" ? "OUT_OF_STOCK" : r.code, { failedSkuId: r.failedSkuId });
      },
      async compensate(s) {
        await deps.catalog.release(s.reservationKey);
      },
    },
    {
      // Locks the buyer's coupon for this order and takes its discount (promotion's couponLock,
      // idempotent per orderId). A timed-out lock may have locked: release (idempotent) then too.
      id: "lockCoupon",
      compensateOnError: true,
      async invoke(s) {
        if (!s.couponId) return;
        const r = await deps.promotion.lockCoupon(s.buyerId, s.couponId, s.orderId, s.currency, formatAmount(s.couponDiscount, s.currency));
        if (r.code !== "OK") throw new WorkflowAbort("COUPON_UNAVAILABLE");
      },
      async compensate(s) {
        if (s.couponId) await deps.promotion.releaseCoupon(s.orderId);
      },
    },
    {
      id: "createOrder",
      // An ambiguous failure (connection lost around COMMIT) may still have created the order:
      // delete it too (a no-op when it was not created), so no order outlives its released stock.
      compensateOnError: true,
      async invoke(s) {
        for (let attempt = 0; ; attempt++) {
          const orderNo = await deps.nextOrderNo();
          try {
            await createOrderRows(deps.prisma, s, orderNo);
            s.orderNo = orderNo;
            return;
          } catch (e) {
            const target = uniqueViolationTarget(e);
            if (target?.includes("idempotencyKey")) throw new WorkflowAbort("DUPLICATE");
            // orderNo collision (clock skew beyond the sequence key's life): take another number
            if (target?.includes("orderNo") && attempt < 3) continue;
            throw e;
          }
        }
      },
      async compensate(s) {
        await deps.prisma.order.deleteMany({ where: { id: s.orderId } });
      },
    },
    {
      id: "removeFromCart",
      bestEffort: true,
      async invoke(s) {
        if (s.fromCart)
          await deps.cart.removeSkus(
            s.buyerId,
            s.lines.map((l) => l.skuId),
          );
      },
    },
  ];
}

async function createOrderRows(prisma: PrismaClient, s: PlaceOrderState, orderNo: string): Promise<void> {
  const eventId = randomUUID();
  const c = s.currency;
  await prisma.$transaction(async (tx) => {
    await tx.order.create({
      data: {
        id: s.orderId,
        orderNo,
        buyerId: s.buyerId,
        status: "PENDING_PAYMENT",
        currency: c,
        itemsTotal: formatAmount(s.itemsTotal, c),
        discount: formatAmount(s.discount, c),
        payable: formatAmount(s.itemsTotal.minus(s.discount), c),
        address: { ...s.address },
        addressId: s.address.id,
        note: s.note,
        paymentMethod: s.paymentMethod,
        couponId: s.couponId,
        fromCart: s.fromCart,
        idempotencyKey: s.idempotencyKey,
        reservationKey: s.reservationKey,
        expiresAt: s.expiresAt,
        items: {
          create: s.lines.map((l) => ({
            id: randomUUID(),
            skuId: l.skuId,
            spuId: l.snapshot.spuId,
            title: l.snapshot.title,
            image: l.snapshot.image,
            price: formatAmount(l.price, c),
            quantity: l.quantity,
            subtotal: formatAmount(l.subtotal, c),
            discount: formatAmount(l.discount, c),
            payable: formatAmount(l.payable, c),
          })),
        },
      },
    });
    await tx.orderStatusChange.create({
      data: { id: eventId, orderId: s.orderId, from: null, to: "PENDING_PAYMENT", reason: "PLACED", actor: s.buyerId },
    });
    await tx.orderOutbox.create({
      data: {
        id: eventId,
        orderId: s.orderId,
        buyerId: s.buyerId,
        topic: ORDER_STATUS_TOPIC,
        payload: { status: "PENDING_PAYMENT", previousStatus: null },
      },
    });
  });
  s.eventIds.push(eventId);
}

export async function runPlaceOrder(deps: PlaceOrderDeps, state: PlaceOrderState, hooks?: WorkflowHooks) {
  return runWorkflow("placeOrder", placeOrderSteps(deps), state, { hooks, log: deps.log });
}
