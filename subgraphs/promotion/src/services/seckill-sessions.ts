/**
 * Seckill sessions for operators: create (stock leaves catalog at once, workflows/createSession.ts),
 * edit before the start, cancel (no more buys; reservations already made still become orders; the
 * unsold stock goes back to catalog once they are settled), and the lists.
 */
import { randomUUID } from "node:crypto";
import { AppError, ErrorCode, badInput, notFound, defined } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount } from "@mallgraph/platform/money";
import { WorkflowAbort, WorkflowFailed } from "@mallgraph/platform/workflow";
import { PromotionErrorCode } from "../errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { createSessionRunId, type CreateSessionState } from "../workflows/createSession.ts";
import type { SeckillSettlement } from "./seckill-settlement.ts";
import { MAX_ITEMS, MAX_SHARDS, MAX_STOCK, type SeckillStore } from "./seckill-store.ts";
import { parseTime } from "./time.ts";
import type { ItemView, SeckillSessionInput, SeckillSessionUpdate, SessionView } from "./types.ts";

const MAX_SESSION_MS = 31 * 24 * 3600 * 1000;
/** An edit must leave this long (beyond the online lead) before the session is armed in Redis. */
const EDIT_MARGIN_MS = 30_000;

type SessionRow = Prisma.SeckillSessionGetPayload<{ include: { items: true } }>;

export class SeckillSessions {
  constructor(
    private readonly s: SeckillStore,
    private readonly settlement: SeckillSettlement,
  ) {}

  private checkTimes(title: string, startsAt: Date, endsAt: Date): void {
    if (!title || title.length > 100) throw badInput("title is required (at most 100 characters)", { field: "title" });
    if (endsAt <= startsAt) throw badInput("endsAt must be after startsAt", { field: "endsAt" });
    if (endsAt.getTime() <= Date.now()) throw badInput("endsAt must be in the future", { field: "endsAt" });
    if (endsAt.getTime() - startsAt.getTime() > MAX_SESSION_MS) throw badInput("a session lasts at most 31 days", { field: "endsAt" });
  }

  /** One SKU is in at most one unfinished session at a time (the seckill-skus set is per SKU). */
  private async checkNoClash(skuIds: string[], startsAt: Date, endsAt: Date, except?: string): Promise<void> {
    const clash = await this.s.d.prisma.seckillItem.findFirst({
      where: {
        skuId: { in: skuIds },
        ...(except ? { sessionId: { not: except } } : {}),
        session: { status: { notIn: ["ENDED", "CANCELLED"] }, startsAt: { lt: endsAt }, endsAt: { gt: startsAt } },
      },
      select: { skuId: true, sessionId: true },
    });
    if (clash)
      throw new AppError(ErrorCode.CONFLICT, `SKU ${clash.skuId} is already in seckill session ${clash.sessionId} at that time`, {
        skuId: clash.skuId,
      });
  }

  async create(input: SeckillSessionInput, operatorId: string | null): Promise<SessionView> {
    const title = typeof input.title === "string" ? input.title.trim() : "";
    const startsAt = parseTime(input.startsAt, "startsAt");
    const endsAt = parseTime(input.endsAt, "endsAt");
    this.checkTimes(title, startsAt, endsAt);
    const items = input.items ?? [];
    if (!items.length || items.length > MAX_ITEMS) throw badInput(`1..${MAX_ITEMS} items`, { field: "items" });
    const seen = new Set<string>();
    for (const i of items) {
      if (typeof i.skuId !== "string" || !i.skuId.trim() || i.skuId.length > 64)
        throw badInput("skuId must be a non-empty id", { field: "items.skuId" });
      if (seen.has(i.skuId)) throw badInput(`SKU ${i.skuId} appears twice`, { field: "items.skuId" });
      seen.add(i.skuId);
      if (!Number.isInteger(i.stock) || i.stock < 1 || i.stock > MAX_STOCK)
        throw badInput(`stock must be an integer in 1..${MAX_STOCK}`, { field: "items.stock" });
      if (!Number.isInteger(i.perUserLimit) || i.perUserLimit < 1 || i.perUserLimit > i.stock)
        throw badInput("perUserLimit must be an integer in 1..stock", { field: "items.perUserLimit" });
      if (i.shards != null && (!Number.isInteger(i.shards) || i.shards < 1 || i.shards > MAX_SHARDS))
        throw badInput(`shards must be an integer in 1..${MAX_SHARDS}`, { field: "items.shards" });
    }
    const snaps = await this.s.d.catalog.skuSnapshots(items.map((i) => i.skuId));
    const lines: CreateSessionState["items"] = [];
    for (const [n, i] of items.entries()) {
      const snap = snaps[n];
      if (!snap) throw notFound("SKU", i.skuId);
      if (!snap.onShelf) throw new AppError(PromotionErrorCode.INVALID_STATE, `SKU ${i.skuId} is off the shelf`, { skuId: i.skuId });
      const price = parseAmount(i.seckillPrice, snap.currency, { field: "items.seckillPrice" });
      // never more shards than units: every shard starts with at least one
      const shards = Math.min(i.shards ?? this.s.d.defaultShards ?? 1, i.stock);
      lines.push({
        skuId: i.skuId,
        title: snap.title,
        seckillPrice: price.toFixed(),
        currency: snap.currency,
        stock: i.stock,
        perUserLimit: i.perUserLimit,
        shards,
      });
    }
    await this.checkNoClash([...seen], startsAt, endsAt);

    const state: CreateSessionState = { sessionId: randomUUID(), title, startsAt, endsAt, createdBy: operatorId, items: lines };
    try {
      await this.s.d.workflows.run(this.s.d.createSessionWorkflow, createSessionRunId(state.sessionId), state, {
        hooks: this.s.d.hooks?.createSession,
      });
    } catch (e) {
      if (e instanceof WorkflowAbort) {
        const sku = (e.details.failedSkuId as string | null) ?? undefined;
        if (e.code === "OUT_OF_STOCK")
          throw new AppError(PromotionErrorCode.OUT_OF_STOCK, `not enough stock in catalog for SKU ${sku}`, { failedSkuId: sku });
        if (e.code === "NOT_FOUND") throw notFound("SKU", sku);
        if (e.code === "OFF_SHELF")
          throw new AppError(PromotionErrorCode.INVALID_STATE, `SKU ${sku} is off the shelf`, { failedSkuId: sku });
        throw badInput(`catalog refused the allocation: ${e.code}`, { failedSkuId: sku });
      }
      if (e instanceof WorkflowFailed) throw e.cause;
      throw e;
    }
    return defined((await this.get([state.sessionId]))[0], `seckill session ${state.sessionId}`);
  }

  /**
   * Edits a session before it starts: title, times, items' seckill price and per-user limit (stock
   * and shards are fixed: cancel and create another). Only while it is SCHEDULED and at least the
   * online lead + 30 s away (also for the new start), so the lifecycle never arms it mid-edit.
   */
  async update(id: string, input: SeckillSessionUpdate): Promise<SessionView> {
    const s = await this.s.d.prisma.seckillSession.findUnique({
      where: { id: typeof id === "string" ? id : "" },
      include: { items: true },
    });
    if (!s) throw notFound("seckill session", id);
    const guard = (this.s.d.onlineLeadMs ?? 60_000) + EDIT_MARGIN_MS;
    const tooLate = (t: Date) => t.getTime() - Date.now() <= guard;
    if (s.status !== "SCHEDULED" || tooLate(s.startsAt))
      throw new AppError(PromotionErrorCode.INVALID_STATE, "only a scheduled session not about to start can be edited", {
        status: s.status,
      });
    const title = input.title != null ? input.title.trim() : s.title;
    const startsAt = input.startsAt != null ? parseTime(input.startsAt, "startsAt") : s.startsAt;
    const endsAt = input.endsAt != null ? parseTime(input.endsAt, "endsAt") : s.endsAt;
    this.checkTimes(title, startsAt, endsAt);
    if (tooLate(startsAt))
      throw badInput("startsAt must leave time to bring the session online (more than the online lead from now)", { field: "startsAt" });
    const changes = new Map<string, { seckillPrice?: string; perUserLimit?: number }>();
    for (const u of input.items ?? []) {
      const item = s.items.find((i) => i.skuId === u.skuId);
      if (!item) throw notFound("seckill item", `${id}/${u.skuId}`);
      const c: { seckillPrice?: string; perUserLimit?: number } = {};
      if (u.seckillPrice != null) c.seckillPrice = parseAmount(u.seckillPrice, item.currency, { field: "items.seckillPrice" }).toFixed();
      if (u.perUserLimit != null) {
        if (!Number.isInteger(u.perUserLimit) || u.perUserLimit < 1 || u.perUserLimit > item.stock)
          throw badInput("perUserLimit must be an integer in 1..stock", { field: "items.perUserLimit" });
        c.perUserLimit = u.perUserLimit;
      }
      changes.set(u.skuId, c);
    }
    if (startsAt.getTime() !== s.startsAt.getTime() || endsAt.getTime() !== s.endsAt.getTime())
      await this.checkNoClash(
        s.items.map((i) => i.skuId),
        startsAt,
        endsAt,
        s.id,
      );
    await this.s.d.prisma.$transaction(async (tx) => {
      // conditional on what was checked: still SCHEDULED at the start read
      const r = await tx.seckillSession.updateMany({
        where: { id, status: "SCHEDULED", startsAt: s.startsAt },
        data: { title, startsAt, endsAt },
      });
      if (!r.count) throw new AppError(PromotionErrorCode.INVALID_STATE, "the session changed meanwhile; read it again");
      for (const [skuId, data] of changes) await tx.seckillItem.update({ where: { sessionId_skuId: { sessionId: id, skuId } }, data });
    });
    return defined((await this.get([id]))[0], `seckill session ${id}`);
  }

  /**
   * Cancels a SCHEDULED or ONLINE session: status CANCELLED, every shard closed for buys at once
   * (a crash in between is healed by the lifecycle), its SKUs leave the cart's seckill set;
   * reservations already made still become orders; the unsold stock (all of it, for a session
   * never online) goes back to catalog once they are settled. Cancelling again answers the same.
   */
  async cancel(id: string): Promise<SessionView> {
    const s = await this.s.d.prisma.seckillSession.findUnique({
      where: { id: typeof id === "string" ? id : "" },
      include: { items: true },
    });
    if (!s) throw notFound("seckill session", id);
    if (s.status !== "CANCELLED") {
      const r = await this.s.d.prisma.seckillSession.updateMany({
        where: { id, status: { in: ["SCHEDULED", "ONLINE"] } },
        data: { status: "CANCELLED", cancelledAt: new Date() },
      });
      if (!r.count && (await this.s.d.prisma.seckillSession.findUniqueOrThrow({ where: { id } })).status !== "CANCELLED")
        throw new AppError(PromotionErrorCode.INVALID_STATE, "an ended session cannot be cancelled", { status: "ENDED" });
    }
    await this.settlement.returnUnsold(id);
    await this.settlement.releaseSkus(
      id,
      s.items.map((i) => i.skuId),
    );
    return defined((await this.get([id]))[0], `seckill session ${id}`);
  }

  /** Sessions not over yet and those ended or cancelled within the last day, by start time. */
  async list(): Promise<SessionView[]> {
    const rows = await this.s.d.prisma.seckillSession.findMany({
      where: { OR: [{ status: { in: ["SCHEDULED", "ONLINE"] } }, { endsAt: { gt: new Date(Date.now() - 24 * 3600 * 1000) } }] },
      orderBy: [{ startsAt: "asc" }, { id: "asc" }],
      include: { items: { orderBy: { skuId: "asc" } } },
      take: 200,
    });
    return this.views(rows);
  }

  async get(ids: string[]): Promise<SessionView[]> {
    const rows = await this.s.d.prisma.seckillSession.findMany({
      where: { id: { in: ids } },
      include: { items: { orderBy: { skuId: "asc" } } },
    });
    return this.views(rows);
  }

  private async views(rows: SessionRow[]): Promise<SessionView[]> {
    return Promise.all(
      rows.map(async (s) => ({
        id: s.id,
        title: s.title,
        status: s.status,
        startsAt: s.startsAt.toISOString(),
        endsAt: s.endsAt.toISOString(),
        items: await Promise.all(
          s.items.map(async (i): Promise<ItemView> => ({
            sessionId: s.id,
            skuId: i.skuId,
            title: i.title,
            seckillPrice: formatAmount(i.seckillPrice, i.currency),
            currency: i.currency,
            stock: i.stock,
            perUserLimit: i.perUserLimit,
            shards: i.shards,
            remaining:
              i.returnedStock != null
                ? 0
                : s.status === "SCHEDULED" || (s.status === "CANCELLED" && !s.onlineAt)
                  ? i.stock
                  : await this.s.remaining(this.s.remember(i)),
          })),
        ),
      })),
    );
  }
}
