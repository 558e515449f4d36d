/** Payment reads: one payment (buyer / admin), an order's payments, refunds, one live event's payload. */
import type { CallbackAnomaly, Payment, PrismaClient, Refund } from "../generated/prisma/client.ts";
import type { PaymentEventModel } from "./shared.ts";

export class PaymentReads {
  constructor(private readonly prisma: PrismaClient) {}

  async get(id: string): Promise<Payment | null> {
    return this.prisma.payment.findUnique({ where: { id } });
  }

  /** The payment if the member may see it (buyer), else null. */
  async getForBuyer(id: string, buyerId: string): Promise<Payment | null> {
    const p = await this.get(id);
    return p && p.buyerId === buyerId ? p : null;
  }

  forOrder(orderId: string, buyerId?: string): Promise<Payment[]> {
    return this.prisma.payment.findMany({ where: { orderId, ...(buyerId ? { buyerId } : {}) }, orderBy: { createdAt: "asc" } });
  }

  refunds(paymentId: string): Promise<Refund[]> {
    return this.prisma.refund.findMany({ where: { paymentId }, orderBy: { createdAt: "asc" } });
  }

  async event(paymentId: string, eventId: string): Promise<(PaymentEventModel & { buyerId: string }) | null> {
    const e = await this.prisma.paymentEvent.findUnique({ where: { id: eventId } });
    if (!e || e.paymentId !== paymentId) return null;
    return { eventId: e.id, type: e.type, status: e.status, paymentId: e.paymentId, buyerId: e.buyerId };
  }

  /** Callback anomalies (amount or state mismatches, late notices), newest first; 1..500 of them. */
  callbackAnomalies(first: number | null | undefined): Promise<CallbackAnomaly[]> {
    return this.prisma.callbackAnomaly.findMany({ orderBy: { createdAt: "desc" }, take: Math.min(Math.max(first ?? 50, 1), 500) });
  }

  /** Status of a payment on the sandbox, used by sandboxCompletePayment to check the caller. */
  byCheckoutRef(checkoutRef: string): Promise<Payment | null> {
    return this.prisma.payment.findUnique({ where: { checkoutRef } });
  }
}
