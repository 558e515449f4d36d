/**
 * Order status events leave their transaction through the platform's job outbox
 * (packages/platform/src/outbox.ts), as payment's do (decision 0028): every status change writes
 * its live event as an outbox job in the change's transaction; the relay hands it to `order-events`
 * after the commit (and every second in the worker, so a process that died right after the commit
 * loses nothing), and the order worker publishes it once (`publishLiveEventJob`). The event's id is
 * the status-history row's, which the gateway loads through `orderStatusChangedEvent`.
 */
import { liveEventJob, liveEventsJob, type OutboxJob } from "@mallgraph/platform/outbox";
import { QueueName } from "@mallgraph/platform/queue";
import type { PrismaClient } from "../generated/prisma/client.ts";

export const ORDER_STATUS_TOPIC = "orderStatusChanged";

/** The live event of one status change (its history row's id), for its buyer. */
export function orderStatusEvent(eventId: string, orderId: string, buyerId: string): OutboxJob {
  return liveEventJob(QueueName.orderEvents, ORDER_STATUS_TOPIC, { eventId, keys: { orderId }, audience: [buyerId] });
}

/**
 * The creation events of a batch of orders made in one transaction (seckill, decision 0039) as ONE
 * outbox row and one `order-events` job; each event is still published once per event id.
 */
export function orderStatusEvents(events: Array<{ eventId: string; orderId: string; buyerId: string }>): OutboxJob {
  return liveEventsJob(
    QueueName.orderEvents,
    ORDER_STATUS_TOPIC,
    events.map((e) => ({ eventId: e.eventId, keys: { orderId: e.orderId }, audience: [e.buyerId] })),
  );
}

/** Withdraws an order's status events not relayed yet (the order is deleted: a placement undone). */
export function withdrawOrderEvents(db: { $executeRaw: PrismaClient["$executeRaw"] }, orderId: string): Promise<number> {
  return db.$executeRaw`DELETE FROM "Outbox" WHERE "queue" = ${QueueName.orderEvents} AND "sentAt" IS NULL AND "data"->'event'->'keys'->>'orderId' = ${orderId}`;
}
