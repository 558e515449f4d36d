/**
 * Seckill (flash sale): SeckillService is the one entry point resolvers and jobs call; it only
 * composes the use cases, each in its own file:
 *   seckill-sessions.ts    operators: create (stock leaves catalog at once), edit before the start, cancel; lists
 *   seckill-buying.ts      buying: one script call on the buyer's home shard; another shard's stock when home is sold out
 *   seckill-stream.ts      the consumer of the shards' streams: the PostgreSQL copy (seckill-copy.ts), then the orders
 *   seckill-settlement.ts  order creation, sweepers, order status poll, lifecycle (online / ended / unsold stock back)
 * with what they share in seckill-store.ts (dependencies, shard layout, keys, Lua scripts).
 *
 * The reservation in Redis is the first copy; PostgreSQL gets a copy of every change within a second
 * or two (decision 0032). Never oversell: stock only moves inside Lua
 * scripts, each on one shard. Never lose a reservation, never two orders of one: order creation is
 * idempotent per reservationId and a reservation moves PENDING → ORDERED once; sweepers finish what
 * a dying process left (lost jobs, HOLDs, takes). docs/decisions/0012-seckill-stock-shards.md.
 */
import { streamBacklog, type StreamEntry } from "@mallgraph/platform/streams";
import { homeShard } from "./keys.ts";
import { SeckillBuying } from "./seckill-buying.ts";
import { SeckillCopy } from "./seckill-copy.ts";
import { SeckillReconciliation } from "./seckill-reconcile.ts";
import { SeckillSessions } from "./seckill-sessions.ts";
import { SeckillSettlement } from "./seckill-settlement.ts";
import { SeckillStore, type SeckillDeps } from "./seckill-store.ts";
import { SeckillStream } from "./seckill-stream.ts";
import type { ReservationView, SeckillSessionInput, SeckillSessionUpdate } from "./types.ts";

export {
  MAX_BUY_QUANTITY,
  MAX_ITEMS,
  MAX_STOCK,
  RESERVATION_TOPIC,
  SeckillJob,
  type SeckillDeps,
  type SeckillTestHooks,
} from "./seckill-store.ts";

export class SeckillService {
  readonly store: SeckillStore;
  private readonly sessions: SeckillSessions;
  private readonly buying: SeckillBuying;
  private readonly settlement: SeckillSettlement;
  private readonly stream: SeckillStream;
  private readonly reconciliation: SeckillReconciliation;

  constructor(d: SeckillDeps) {
    this.store = new SeckillStore(d);
    const copy = new SeckillCopy(d.prisma, d.sql, d.log);
    this.settlement = new SeckillSettlement(this.store, copy);
    this.stream = new SeckillStream(this.store, this.settlement, copy);
    this.reconciliation = new SeckillReconciliation(this.store, copy, d.reconcileGraceMs);
    this.sessions = new SeckillSessions(this.store, this.settlement);
    this.buying = new SeckillBuying(this.store);
  }

  // sessions
  createSession(input: SeckillSessionInput, operatorId: string | null) {
    return this.sessions.create(input, operatorId);
  }
  updateSession(id: string, input: SeckillSessionUpdate) {
    return this.sessions.update(id, input);
  }
  cancelSession(id: string) {
    return this.sessions.cancel(id);
  }
  listSessions() {
    return this.sessions.list();
  }
  getSessions(ids: string[]) {
    return this.sessions.get(ids);
  }

  // buying and reservations
  buy(buyerId: string, sessionId: string, skuId: string, quantity: number, idempotencyKey: string) {
    return this.buying.buy(buyerId, sessionId, skuId, quantity, idempotencyKey);
  }
  readReservation(id: string) {
    return this.store.readReservation(id);
  }
  async reservation(id: string, viewerId: string): Promise<ReservationView | null> {
    const r = await this.store.readReservation(id);
    return r && r.buyerId === viewerId ? r : null;
  }

  // the streams' consumer (the workers run it: StreamConsumer with these two)
  streams(): Promise<string[]> {
    return this.stream.streams();
  }
  handleStream(stream: string, entries: StreamEntry[]): Promise<string[]> {
    return this.stream.handle(stream, entries);
  }
  /** Stream entries not done yet (not copied to PostgreSQL, or their order not made), over every watched item. */
  async streamBacklog(): Promise<number> {
    return streamBacklog(this.store.d.redis, await this.stream.streams(0));
  }

  // settlement
  createOrder(reservationId: string) {
    return this.settlement.createOrder(reservationId);
  }
  sweepPending(limit?: number) {
    return this.settlement.sweepPending(limit);
  }
  sweepHolds(limit?: number) {
    return this.settlement.sweepHolds(limit);
  }
  sweepTakes(limit?: number) {
    return this.settlement.sweepTakes(limit);
  }
  pollOrdered(limit?: number) {
    return this.settlement.pollOrdered(limit);
  }
  lifecycle(now?: Date) {
    return this.settlement.lifecycle(now);
  }
  /** The repeatable job: items that lost Redis data are rebuilt first (the lifecycle never closes a damaged item). */
  async tick(): Promise<Record<string, number>> {
    const rebuilt = await this.reconciliation.ifLost();
    return { ...(await this.settlement.tick()), rebuilt: rebuilt?.items ?? 0 };
  }

  // reconciliation after Redis lost data (seckill-reconcile.ts)
  /** Operators: every live item (or a session's) rebuilt from PostgreSQL. */
  reconcile(sessionId?: string | null) {
    return this.reconciliation.run(sessionId);
  }
  /** The workers' check (start-up, ticks): damaged items rebuilt; null when none is. */
  reconcileIfLost() {
    return this.reconciliation.ifLost();
  }

  // reads for operators and tests
  /** Stock left of an item (the sum of its shards); null for an unknown item. */
  async remaining(sessionId: string, skuId: string): Promise<number | null> {
    const ref = await this.store.item(sessionId, skuId);
    return ref ? this.store.remaining(ref) : null;
  }
  /** Reservations waiting for their order (PENDING), over every watched item and shard. */
  async pendingCount(): Promise<number> {
    const items = await this.store.watched();
    const counts = await Promise.all(
      items.flatMap((ref) => Array.from({ length: ref.shards }, (_, n) => this.store.d.redis.zcard(this.store.keys(ref, n).pending))),
    );
    return counts.reduce((a, b) => a + b, 0);
  }
  /** How much of an item one buyer holds in live reservations (on the buyer's home shard). */
  async bought(sessionId: string, skuId: string, buyerId: string): Promise<number> {
    const ref = await this.store.item(sessionId, skuId);
    if (!ref) return 0;
    return Number((await this.store.d.redis.hget(this.store.keys(ref, homeShard(buyerId, ref.shards)).bought, buyerId)) ?? 0);
  }
}
