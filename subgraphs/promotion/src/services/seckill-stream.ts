/**
 * The consumer of the seckill streams (decision 0032): each shard's stream holds a snapshot of every
 * change the scripts made to the reservations homed there. For each batch read, in this order:
 *   1. the snapshots are copied to PostgreSQL (seckill-copy.ts; one statement, newer versions only);
 *   2. each reservation that took stock (a PENDING snapshot) is handed to order creation — the
 *      reservations of every stream handed over together make their orders in one call
 *      (SeckillOrderBatcher → orderCreateSeckillBatch, one SQL transaction at order), and those ordered
 *      move PENDING → ORDERED with one script call per home shard (SeckillSettlement.ordersFor, decision 0036);
 *   3. the entries whose work is done are acknowledged and deleted.
 * So the buy path is one Redis round trip (the script), an order only ever exists for a reservation
 * PostgreSQL has, and a worker killed anywhere leaves its entries pending for another consumer
 * (claimed after `claimIdleMs`); order's idempotency per reservationId keeps it one order each.
 */
import type { StreamEntry } from "@mallgraph/platform/streams";
import { snapshotOf, type ReservationSnapshot, type SeckillCopy } from "./seckill-copy.ts";
import type { SeckillSettlement } from "./seckill-settlement.ts";
import type { ItemRef, SeckillStore } from "./seckill-store.ts";

/** Items stay read this long after their unsold stock went back to catalog (their last settlements). */
const TAIL_MS = 10 * 60_000;

export class SeckillStream {
  private cached: { at: number; items: ItemRef[] } | undefined;

  constructor(
    private readonly s: SeckillStore,
    private readonly settlement: SeckillSettlement,
    private readonly copy: SeckillCopy,
  ) {}

  /** Items whose streams may hold entries: live sessions, and those whose stock went back lately. */
  async items(maxAgeMs = 1000): Promise<ItemRef[]> {
    if (this.cached && Date.now() - this.cached.at < maxAgeMs) return this.cached.items;
    const rows = await this.s.d.prisma.seckillItem.findMany({
      where: {
        session: {
          status: { in: ["ONLINE", "ENDED", "CANCELLED"] },
          OR: [{ stockReturnedAt: null }, { stockReturnedAt: { gt: new Date(Date.now() - TAIL_MS) } }],
        },
      },
      select: { sessionId: true, skuId: true, slot: true, shards: true },
    });
    const items = rows.map((r) => this.s.remember(r));
    this.cached = { at: Date.now(), items };
    return items;
  }

  async streams(maxAgeMs = 1000): Promise<string[]> {
    return (await this.items(maxAgeMs)).flatMap((ref) => Array.from({ length: ref.shards }, (_, n) => this.s.keys(ref, n).stream));
  }

  async handle(stream: string, entries: StreamEntry[]): Promise<string[]> {
    const snapshots = entries.map((e) => snapshotOf(e.fields));
    await this.copy.write(snapshots.filter((r) => r !== null));
    const done: string[] = [];
    const orderable: Array<{ id: string; r: ReservationSnapshot }> = [];
    entries.forEach((e, i) => {
      const r = snapshots[i];
      if (!r) this.s.d.log.error({ stream, entry: e.id, fields: e.fields }, "a seckill stream entry is not a reservation; dropped");
      if (r?.status === "PENDING" && !r.settled) orderable.push({ id: e.id, r });
      else done.push(e.id);
    });
    const outcomes = await this.settlement.ordersFor(orderable.map((o) => o.r));
    orderable.forEach(({ id, r }, i) => {
      const o = outcomes[i];
      if (o instanceof Error) this.s.d.log.warn({ err: o, reservationId: r.id }, "seckill order not made yet; the entry comes again");
      else done.push(id);
    });
    return done;
  }
}
