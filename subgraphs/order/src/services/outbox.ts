/**
 * Publishes the order outbox as live events after commit. Each row is claimed with a conditional
 * UPDATE (publishedAt IS NULL) before it is published, so the post-commit path and the drainer
 * job never publish one event twice; a failed publish un-claims the row for the next drain.
 * The same moments relay the schema's job outbox (`Outbox`, packages/platform/src/outbox.ts: the
 * member messages an order change causes).
 */
import { unaudited } from "@mallgraph/platform/audit-scope";
import { publishLiveEvent } from "@mallgraph/platform/events";
import type { Logger } from "@mallgraph/platform/log";
import type { OutboxRelay } from "@mallgraph/platform/outbox";
import type { Redis } from "@mallgraph/platform/redis";
import type { PrismaClient } from "../generated/prisma/client.ts";

export const ORDER_STATUS_TOPIC = "orderStatusChanged";

export class OutboxPublisher {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly jobs?: OutboxRelay,
  ) {}

  /** Publishes the given rows (right after their transaction committed). Never throws. */
  publish(ids: string[]): Promise<number> {
    // right after a commit, often inside an operator mutation: publishing is not its change
    return unaudited(() => this.publishNow(ids));
  }

  private async publishNow(ids: string[]): Promise<number> {
    let n = 0;
    for (const id of ids) {
      try {
        if (await this.publishOne(id)) n++;
      } catch (e) {
        this.log.warn({ err: e, eventId: id }, "outbox publish failed; the drainer retries");
      }
    }
    await this.jobs?.flush();
    return n;
  }

  /** Deletes published rows older than `days` (the status history keeps the events themselves). */
  async prune(days = 7): Promise<number> {
    await this.jobs?.prune(days);
    const r = await this.prisma.orderOutbox.deleteMany({ where: { publishedAt: { lt: new Date(Date.now() - days * 86_400_000) } } });
    return r.count;
  }

  /** Publishes rows left behind (crash between commit and publish, Redis down): older than `graceMs`. */
  async drain(graceMs = 2000, batch = 200): Promise<number> {
    await this.jobs?.drain();
    const rows = await this.prisma.orderOutbox.findMany({
      where: { publishedAt: null, createdAt: { lt: new Date(Date.now() - graceMs) } },
      orderBy: { createdAt: "asc" },
      take: batch,
      select: { id: true },
    });
    return this.publish(rows.map((r) => r.id));
  }

  private async publishOne(id: string): Promise<boolean> {
    const claimed = await this.prisma.orderOutbox.updateMany({
      where: { id, publishedAt: null },
      data: { publishedAt: new Date(), attempts: { increment: 1 } },
    });
    if (claimed.count !== 1) return false;
    const row = await this.prisma.orderOutbox.findUniqueOrThrow({ where: { id } });
    try {
      await publishLiveEvent(this.redis, this.prefix, row.topic, {
        eventId: row.id,
        keys: { orderId: row.orderId },
        audience: [row.buyerId],
      });
      return true;
    } catch (e) {
      await this.prisma.orderOutbox.update({ where: { id }, data: { publishedAt: null } });
      throw e;
    }
  }
}
