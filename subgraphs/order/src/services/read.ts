/** Order reads: one order, pages of orders, its history, shipment and after-sales, and the internal reads of other domains. */
import { badInput } from "@mallgraph/platform/errors";
import { formatAmount } from "@mallgraph/platform/money";
import type { AfterSaleStatus, Prisma, PrismaClient, OrderStatus as DbStatus } from "../generated/prisma/client.ts";
import type { OrderStatus } from "./orderStateMachine.ts";
import type { OrderRecord } from "./types.ts";

const withItems = { items: { orderBy: { skuId: "asc" } } } satisfies Prisma.OrderInclude;

export class OrderReads {
  constructor(private readonly prisma: PrismaClient) {}

  async get(id: string): Promise<OrderRecord | null> {
    return this.prisma.order.findUnique({ where: { id }, include: withItems });
  }

  async getMany(ids: readonly string[]): Promise<Array<OrderRecord | null>> {
    const rows = await this.prisma.order.findMany({ where: { id: { in: [...ids] } }, include: withItems });
    const by = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => by.get(id) ?? null);
  }

  /** The buyer's own order; null when absent or someone else's. */
  async getForBuyer(id: string, buyerId: string): Promise<OrderRecord | null> {
    const o = await this.get(id);
    return o && o.buyerId === buyerId ? o : null;
  }

  byIdempotencyKey(buyerId: string, idempotencyKey: string): Promise<OrderRecord | null> {
    return this.prisma.order.findUnique({ where: { buyerId_idempotencyKey: { buyerId, idempotencyKey } }, include: withItems });
  }

  /** Newest first, keyset-paginated by (createdAt, id). */
  async list(
    filter: { buyerId?: string; status?: OrderStatus | null },
    first = 20,
    after?: string | null,
  ): Promise<{ nodes: OrderRecord[]; hasNextPage: boolean; endCursor: string | null }> {
    const take = Math.min(Math.max(first ?? 20, 1), 100);
    const where: Prisma.OrderWhereInput = {};
    if (filter.buyerId) where.buyerId = filter.buyerId;
    if (filter.status) where.status = filter.status as DbStatus;
    if (after) {
      const [ts, id] = decodeCursor(after);
      where.OR = [{ createdAt: { lt: ts } }, { createdAt: ts, id: { lt: id } }];
    }
    const rows = await this.prisma.order.findMany({
      where,
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: take + 1,
      include: withItems,
    });
    const nodes = rows.slice(0, take);
    const last = nodes[nodes.length - 1];
    return { nodes, hasNextPage: rows.length > take, endCursor: last ? encodeCursor(last.createdAt, last.id) : null };
  }

  history(orderId: string) {
    return this.prisma.orderStatusChange.findMany({ where: { orderId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  }

  shipment(orderId: string) {
    return this.prisma.shipment.findUnique({ where: { orderId }, include: { events: { orderBy: { occurredAt: "asc" } } } });
  }

  afterSales(orderId: string) {
    return this.prisma.afterSale.findMany({ where: { orderId }, orderBy: { createdAt: "asc" } });
  }

  afterSaleLines(afterSaleId: string) {
    return this.prisma.afterSaleLine.findMany({
      where: { afterSaleId },
      include: { item: { select: { skuId: true } } },
      orderBy: { item: { skuId: "asc" } },
    });
  }

  listAfterSales(status: string | null | undefined, first = 50) {
    return this.prisma.afterSale.findMany({
      where: status ? { status: status as AfterSaleStatus } : {},
      orderBy: { createdAt: "desc" },
      take: Math.min(Math.max(first, 1), 200),
    });
  }

  /** One live event's payload, only for the order's buyer. */
  async statusEvent(orderId: string, eventId: string, viewerId: string | undefined) {
    if (!viewerId) return null;
    const ev = await this.prisma.orderStatusChange.findFirst({ where: { id: eventId, orderId }, include: { order: true } });
    if (!ev || ev.order.buyerId !== viewerId) return null;
    return { eventId: ev.id, status: ev.to, previousStatus: ev.from, at: ev.createdAt, orderId: ev.orderId };
  }

  // =============================================================== internal reads

  /**
   * `load`: the request's order loader — promotion's status poll asks for up to 200 orders in one
   * request (an alias each), read with one statement instead of one each (decision 0039).
   */
  async forPayment(id: string, load: (id: string) => Promise<OrderRecord | null> = (i) => this.get(i)) {
    const o = await load(id);
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
    const n = await this.prisma.order.count({ where: { id: orderId, buyerId: memberId, status: "COMPLETED", items: { some: { skuId } } } });
    return n > 0;
  }

  /** Orders of a member that are not done with: unpaid, paid, shipped or refunding, or with an after-sales request under way. */
  memberOpenOrders(memberId: string): Promise<number> {
    return this.prisma.order.count({
      where: {
        buyerId: memberId,
        OR: [
          { status: { in: ["PENDING_PAYMENT", "PAID", "SHIPPED", "REFUNDING"] } },
          { afterSales: { some: { status: { in: ["REQUESTED", "APPROVED"] } } } },
        ],
      },
    });
  }

  /** The member's orders for their data export (PIPL), oldest first: the order's own record, address snapshot included. */
  async memberOrdersExport(memberId: string) {
    const rows = await this.prisma.order.findMany({
      where: { buyerId: memberId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      include: withItems,
    });
    const at = (d: Date | null) => d?.toISOString() ?? null;
    return rows.map((o) => ({
      orderNo: o.orderNo,
      kind: o.kind,
      status: o.status,
      currency: o.currency,
      itemsTotal: formatAmount(o.itemsTotal, o.currency),
      discount: formatAmount(o.discount, o.currency),
      payable: formatAmount(o.payable, o.currency),
      refundedAmount: formatAmount(o.refundedAmount, o.currency),
      address: o.address,
      note: o.note,
      paymentChannel: o.paymentChannel,
      items: o.items.map((i) => ({
        skuId: i.skuId,
        title: i.title,
        price: formatAmount(i.price, o.currency),
        quantity: i.quantity,
        payable: formatAmount(i.payable, o.currency),
      })),
      createdAt: at(o.createdAt),
      paidAt: at(o.paidAt),
      shippedAt: at(o.shippedAt),
      completedAt: at(o.completedAt),
      cancelledAt: at(o.cancelledAt),
    }));
  }
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
