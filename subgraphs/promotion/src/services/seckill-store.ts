/**
 * What the seckill use cases share: their dependencies, the items' shard layout (memoized: an item's
 * slot and shard count never change), the Redis keys of a shard and the Lua scripts
 * (docs/decisions/0012-seckill-stock-shards.md).
 */
import { defined } from "@mallgraph/platform/errors";
import type { Logger } from "@mallgraph/platform/log";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import { defineLua } from "@mallgraph/platform/redis";
import type { Redis } from "@mallgraph/platform/redis";
import type { WorkflowDefinition, WorkflowHooks, WorkflowRunner } from "@mallgraph/platform/workflow";
import type { Prisma, PrismaClient } from "../generated/prisma/client.ts";
import type { CreateSessionState } from "../workflows/createSession.ts";
import { parseReservationId, shardKeys, type ShardKeys } from "./keys.ts";
import type { CatalogPort, OrderPort } from "./ports.ts";
import type { ReservationStatus, ReservationView } from "./types.ts";

export const MAX_ITEMS = 50;
export const MAX_STOCK = 1_000_000;
export const MAX_BUY_QUANTITY = 999;
export const MAX_SHARDS = 64;
/** Settled reservations stay readable (seckillReservation) this long. */
export const SETTLED_RETENTION_SECONDS = 30 * 24 * 3600;
export const RESERVATION_TOPIC = "seckillReservationChanged";
export const SeckillJob = { tick: "tick" } as const;

export interface SeckillTestHooks {
  createSession?: WorkflowHooks;
  /** Runs in order creation (the stream consumer, the sweeper) after order answered, before the reservation is marked (crash injection). */
  afterOrderCreated?(reservationId: string): void | Promise<void>;
  /** Runs in a buy whose home shard was sold out, right after the home recorded the HOLD (crash injection). */
  afterHold?(reservationId: string): void | Promise<void>;
  /** Runs in a buy whose home shard was sold out, after another shard gave stock and before the home confirms (crash injection). */
  afterTake?(reservationId: string, shard: number): void | Promise<void>;
}

export interface SeckillDeps {
  prisma: PrismaClient;
  /** Plain SQL on the Prisma client's pool: the stream consumer's copy of the reservations (decision 0036). */
  sql: PgSql;
  redis: Redis;
  prefix: string;
  catalog: CatalogPort;
  order: OrderPort;
  log: Logger;
  /** Shards of an item whose session names none (config SECKILL_STOCK_SHARDS, default 1). */
  defaultShards?: number;
  /** Sessions starting within this time are brought online (default 60 s). */
  onlineLeadMs?: number;
  /** The sweeper re-runs reservations PENDING for longer than this (default 15 s). */
  pendingAfterMs?: number;
  /** A HOLD (or an unsettled take) older than this is resolved by the sweeper (default 10 s). */
  holdAfterMs?: number;
  idempotencyTtlSeconds?: number;
  /** Pause between fencing an item and reading it when it is reconciled (ms, default 1000: buys in flight finish). */
  reconcileGraceMs?: number;
  /** The domain's durable workflow runner and the session creation registered with it. */
  workflows: WorkflowRunner<Prisma.TransactionClient>;
  createSessionWorkflow: WorkflowDefinition<CreateSessionState, Prisma.TransactionClient>;
  hooks?: SeckillTestHooks;
}

/** One item's place in Redis. */
export interface ItemRef {
  sessionId: string;
  skuId: string;
  slot: number;
  shards: number;
}

/** A shard's Lua script: an integer answer, or (buy) the [code, reservation id] pair. */
type Lua<R = number> = (...args: Array<string | number>) => Promise<R>;

export class SeckillStore {
  private readonly bySku = new Map<string, ItemRef>();
  private readonly bySlot = new Map<number, ItemRef>();
  private readonly shardKeys = new Map<string, ShardKeys>();
  readonly lua: Record<"take" | "resolveHold" | "settleTake" | "arm" | "close", Lua> & {
    buy: Lua<[string, string]>;
    settle: Lua<number[]>;
  };

  constructor(readonly d: SeckillDeps) {
    const def = <R = number>(name: string, file: string, keys: number | undefined): Lua<R> =>
      defineLua<Array<string | number>, R>(d.redis, name, new URL(`../lua/${file}`, import.meta.url), keys);
    this.lua = {
      buy: def<[string, string]>("promotionBuySeckill", "buySeckill-shard.lua", 10),
      take: def("promotionTakeStock", "takeStock-shard.lua", 4),
      resolveHold: def("promotionResolveHold", "resolveHold-shard.lua", 8),
      settleTake: def("promotionSettleTake", "settleTake-shard.lua", 3),
      arm: def("promotionArmShard", "armShard-shard.lua", 2),
      close: def("promotionCloseStock", "closeStock-shard.lua", 5),
      // the key count first: 6 of the shard, then one hash per reservation settled
      settle: def<number[]>("promotionSettleReservation", "settleReservation-shard.lua", undefined),
    };
  }

  /** A shard's keys (built once per item and shard: every buy on the hot path asks for them). */
  keys(ref: Pick<ItemRef, "sessionId" | "skuId">, shard: number): ShardKeys {
    const id = `${ref.sessionId}\n${ref.skuId}\n${shard}`;
    let k = this.shardKeys.get(id);
    if (!k) {
      if (this.shardKeys.size >= MAX_ITEMS * MAX_SHARDS * 4) this.shardKeys.clear();
      this.shardKeys.set(id, (k = shardKeys(this.d.prefix, ref.sessionId, ref.skuId, shard)));
    }
    return k;
  }

  remember(row: { sessionId: string; skuId: string; slot: number; shards: number }): ItemRef {
    const ref = { sessionId: row.sessionId, skuId: row.skuId, slot: row.slot, shards: row.shards };
    this.bySku.set(`${ref.sessionId}\n${ref.skuId}`, ref);
    this.bySlot.set(ref.slot, ref);
    return ref;
  }

  /** The item's layout (one database read per item and process). */
  async item(sessionId: string, skuId: string): Promise<ItemRef | null> {
    const hit = this.bySku.get(`${sessionId}\n${skuId}`);
    if (hit) return hit;
    const row = await this.d.prisma.seckillItem.findUnique({
      where: { sessionId_skuId: { sessionId, skuId } },
      select: { sessionId: true, skuId: true, slot: true, shards: true },
    });
    return row ? this.remember(row) : null;
  }

  async itemBySlot(slot: number): Promise<ItemRef | null> {
    const hit = this.bySlot.get(slot);
    if (hit) return hit;
    const row = await this.d.prisma.seckillItem.findUnique({
      where: { slot },
      select: { sessionId: true, skuId: true, slot: true, shards: true },
    });
    return row ? this.remember(row) : null;
  }

  /** Where a reservation lives: its item, its home shard and the key of its hash. */
  async locate(rid: string): Promise<{ ref: ItemRef; home: number; uuid: string; k: ShardKeys } | null> {
    const p = parseReservationId(rid);
    const ref = p && (await this.itemBySlot(p.slot));
    if (!p || !ref || p.shard >= ref.shards) return null;
    return { ref, home: p.shard, uuid: p.uuid, k: this.keys(ref, p.shard) };
  }

  async readReservation(rid: string): Promise<ReservationView | null> {
    const at = await this.locate(rid);
    if (!at) return null;
    const h = await this.d.redis.hgetall(at.k.reservation(at.uuid));
    if (!h.id) return null;
    const field = (name: string) => defined(h[name], `field ${name} of reservation ${h.id}`);
    return {
      id: h.id,
      // a HOLD is a buy still looking for stock on another shard: PENDING to the buyer
      status: (h.status === "HOLD" ? "PENDING" : h.status) as ReservationStatus,
      sessionId: field("sessionId"),
      skuId: field("skuId"),
      buyerId: field("buyerId"),
      quantity: Number(h.quantity),
      unitPrice: field("unitPrice"),
      currency: field("currency"),
      orderId: h.orderId || null,
      createdMs: Number(h.createdMs),
      holding: h.status === "HOLD",
    };
  }

  /** Items of sessions whose Redis state is still live (online, or ended / cancelled with stock not yet returned). */
  async watched(): Promise<ItemRef[]> {
    const rows = await this.d.prisma.seckillItem.findMany({
      where: { session: { status: { in: ["ONLINE", "ENDED", "CANCELLED"] }, stockReturnedAt: null } },
      select: { sessionId: true, skuId: true, slot: true, shards: true },
    });
    return rows.map((r) => this.remember(r));
  }

  /** Stock left of an item: the sum of its shards' counters. */
  async remaining(ref: ItemRef): Promise<number> {
    const values = await Promise.all(Array.from({ length: ref.shards }, (_, n) => this.d.redis.get(this.keys(ref, n).stock)));
    return values.reduce((sum, v) => sum + Math.max(0, Number(v ?? 0)), 0);
  }
}
