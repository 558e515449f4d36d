/**
 * How an order's status changes: one transaction with a conditional UPDATE on the expected `from`
 * status (so two racing writers never both move an order), a status-history row and an outbox row
 * with the same id (the live event id); the outbox rows are published after the commit.
 */
import { randomUUID } from "node:crypto";
import { writeOutbox } from "@mallgraph/platform/outbox";
import { OrderCode, type ChangeCode } from "../errors.ts";
import type { Prisma, OrderStatus as DbStatus } from "../generated/prisma/client.ts";
import { orderPaidMessage } from "./messages.ts";
import { apply, type OrderAction, type OrderStatus } from "./orderStateMachine.ts";
import { orderStatusEvent } from "./outbox.ts";
import type { OrderReads } from "./read.ts";
import type { OrderServiceDeps, Tx } from "./shared.ts";
import type { OrderRecord } from "./types.ts";

export interface MoveResult {
  code: ChangeCode;
  order: OrderRecord | null;
  eventIds: string[];
}

export interface MoveOptions {
  reason: string;
  actor: string;
  patch?: () => Prisma.OrderUpdateManyMutationInput;
}

export class OrderTransitions {
  constructor(
    private readonly d: Pick<OrderServiceDeps, "prisma" | "jobs">,
    private readonly reads: OrderReads,
  ) {}

  /**
   * Applies `action` to an order: conditional UPDATE on the status read, history + outbox in the
   * same transaction, outbox published after commit. A lost race re-reads and decides again.
   */
  async move(orderId: string, action: OrderAction, opts: MoveOptions & { inTx?: (tx: Tx) => Promise<void> }): Promise<MoveResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const order = await this.reads.get(orderId);
      if (!order) return { code: OrderCode.NOT_FOUND, order: null, eventIds: [] };
      if (!apply(order.status as OrderStatus, action)) return { code: OrderCode.INVALID_STATE, order, eventIds: [] };
      const eventId = await this.d.prisma.$transaction(async (tx) => {
        const ev = await moveInTx(tx, order, action, opts);
        if (ev && opts.inTx) await opts.inTx(tx);
        return ev;
      });
      if (eventId) {
        await this.d.jobs.flush();
        return { code: OrderCode.OK, order: await this.reads.get(orderId), eventIds: [eventId] };
      }
    }
    const order = await this.reads.get(orderId);
    return { code: OrderCode.INVALID_STATE, order, eventIds: [] };
  }
}

/** Inside a transaction: moves `order` (as read) by `action`; the event id, or null when the status changed meanwhile. */
export async function moveInTx(
  tx: Tx,
  order: { id: string; buyerId: string; status: string },
  action: OrderAction,
  opts: MoveOptions,
): Promise<string | null> {
  const from = order.status as OrderStatus;
  const to = apply(from, action);
  if (!to) return null;
  const r = await tx.order.updateMany({
    where: { id: order.id, status: from as DbStatus },
    data: { ...(opts.patch?.() ?? {}), status: to as DbStatus },
  });
  if (r.count !== 1) return null;
  const id = randomUUID();
  await tx.orderStatusChange.create({
    data: { id, orderId: order.id, from: from as DbStatus, to: to as DbStatus, reason: opts.reason, actor: opts.actor },
  });
  await writeOutbox(tx, [orderStatusEvent(id, order.id, order.buyerId)]);
  if (to === "PAID") await orderPaidMessage(tx, order.id);
  return id;
}

/** Locks the order row for the rest of the transaction (SELECT … FOR UPDATE) and returns it. */
export async function lockOrder(tx: Tx, orderId: string) {
  await tx.$queryRaw`SELECT id FROM "Order" WHERE id = ${orderId} FOR UPDATE`;
  return tx.order.findUniqueOrThrow({ where: { id: orderId } });
}
