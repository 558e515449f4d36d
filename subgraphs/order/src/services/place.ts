/**
 * Placing an order (cart or direct buy): input checks, one submission per idempotency key at a time
 * (a Redis lock), unit prices from catalog snapshots, discounts from promotion's quote of those lines
 * (the same pricing function the cart shows; `expectedPayable` catches a price that moved), then the
 * durable placeOrder workflow (src/workflows/placeOrder.ts) and the payment time-out.
 */
import { randomUUID } from "node:crypto";
import { AppError, ErrorCode, badInput, defined } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { keyFor, lockReleaser } from "@mallgraph/platform/redis";
import { WorkflowAbort, WorkflowFailed } from "@mallgraph/platform/workflow";
import { OrderCode, isPlaceCode, message, type PlaceCode } from "../errors.ts";
import { placedOrder, placeOrderRunId, type PlaceOrderState, type PricedLine } from "../workflows/placeOrder.ts";
import type { OrderFollowUps } from "./follow-ups.ts";
import type { PriceQuote, StockLine } from "./ports.ts";
import type { OrderReads } from "./read.ts";
import { MAX_LINE_QUANTITY, MAX_LINES, RESERVATION_MARGIN_SECONDS, type OrderServiceDeps } from "./shared.ts";
import type { OrderQuoteView, OrderRecord, PlaceOrderInput, PlaceOrderOutcome } from "./types.ts";

const LOCK_TTL_MS = 30_000;
const LOCK_WAIT_MS = 20_000;

export class OrderPlacement {
  private readonly key;
  private readonly releaseLock;

  constructor(
    private readonly d: OrderServiceDeps,
    private readonly reads: OrderReads,
    private readonly jobs: OrderFollowUps,
  ) {
    this.key = keyFor(d.prefix, "order");
    this.releaseLock = lockReleaser(d.redis);
  }

  async placeOrder(buyerId: string, input: PlaceOrderInput): Promise<PlaceOrderOutcome> {
    const idem = input.idempotencyKey?.trim() || randomUUID();
    if (idem.length > 64) throw badInput("idempotencyKey is at most 64 characters", { field: "idempotencyKey" });
    if (input.note && input.note.length > 200) throw badInput("note is at most 200 characters", { field: "note" });
    if (input.paymentMethod && input.paymentMethod.length > 32)
      throw badInput("paymentMethod is at most 32 characters", { field: "paymentMethod" });
    if (!input.addressId?.trim()) throw badInput("addressId is required", { field: "addressId" });

    const lockKey = this.key("submit", buyerId, idem);
    const token = randomUUID();
    const deadline = Date.now() + LOCK_WAIT_MS;
    while ((await this.d.redis.set(lockKey, token, "PX", LOCK_TTL_MS, "NX")) !== "OK") {
      if (Date.now() > deadline) throw new AppError(ErrorCode.CONFLICT, "an order with this idempotency key is being placed; retry");
      await sleep(40);
    }
    try {
      // under the lock, one look for an order this key placed already (a retry); plain SQL (decision 0035)
      const existing = await this.d.sql.$queryRawUnsafe<Array<{ id: string }>>(
        `SELECT "id" FROM "Order" WHERE "buyerId" = $1 AND "idempotencyKey" = $2`,
        buyerId,
        idem,
      );
      if (existing[0]) return ok(await this.reads.get(existing[0].id));
      return await this.placeLocked(buyerId, input, idem);
    } finally {
      await this.releaseLock(lockKey, token).catch(() => undefined);
    }
  }

  private async placeLocked(buyerId: string, input: PlaceOrderInput, idem: string): Promise<PlaceOrderOutcome> {
    const fromCart = input.fromCart === true;
    let requested: StockLine[];
    if (fromCart) {
      requested = await this.d.cart.checkedLines(buyerId);
      if (!requested.length) return refuse(OrderCode.EMPTY_CART);
    } else {
      if (!input.items?.length) throw badInput("items are required for a direct buy (or set fromCart)", { field: "items" });
      requested = input.items;
    }
    // merge repeated SKUs, validate quantities
    const merged = new Map<string, number>();
    for (const l of requested) {
      if (typeof l.skuId !== "string" || !l.skuId.trim() || l.skuId.length > 64)
        throw badInput("skuId must be a non-empty id", { field: "items.skuId" });
      if (!Number.isInteger(l.quantity) || l.quantity < 1) return refuse(OrderCode.BAD_QUANTITY, l.skuId);
      merged.set(l.skuId, (merged.get(l.skuId) ?? 0) + l.quantity);
    }
    if (merged.size > MAX_LINES) throw badInput(`at most ${MAX_LINES} lines per order`, { field: "items" });
    for (const [skuId, q] of merged) if (q > MAX_LINE_QUANTITY) return refuse(OrderCode.BAD_QUANTITY, skuId);

    // the three reads are independent: one round trip instead of three
    const ids = [...merged.keys()];
    const seckill = keyFor(this.d.prefix, "promotion")("seckill-skus");
    const [address, snaps, seckillFlags] = await Promise.all([
      this.d.member.address(buyerId, input.addressId),
      this.d.catalog.skuSnapshots(ids),
      this.d.redis.smismember(seckill, ...ids),
    ]);
    if (!address) return refuse(OrderCode.ADDRESS_NOT_FOUND);
    const lines: PricedLine[] = [];
    for (const [i, skuId] of ids.entries()) {
      const snap = snaps[i];
      const quantity = defined(merged.get(skuId), `the quantity of ${skuId}`);
      if (!snap) return refuse(OrderCode.NOT_FOUND, skuId);
      if (seckillFlags[i]) return refuse(OrderCode.SECKILL_NOT_ALLOWED, skuId);
      if (!snap.onShelf) return refuse(OrderCode.OFF_SHELF, skuId);
      if (snap.available < quantity) return refuse(OrderCode.OUT_OF_STOCK, skuId);
      const price = new Decimal(snap.price);
      const subtotal = price.times(quantity);
      lines.push({ skuId, quantity, snapshot: snap, price, subtotal, discount: new Decimal(0), payable: subtotal });
    }
    const currency = defined(lines[0], "an order line").snapshot.currency;
    if (lines.some((l) => l.snapshot.currency !== currency)) return refuse(OrderCode.MIXED_CURRENCY);
    const expected =
      input.expectedPayable != null ? parseAmount(input.expectedPayable, currency, { field: "expectedPayable", allowZero: true }) : null;

    // promotion prices the lines (campaigns, the coupon) — the same function as the cart's view
    const quote = await this.d.promotion.price(
      buyerId,
      currency,
      lines.map((l) => ({
        skuId: l.skuId,
        spuId: defined(l.snapshot.spuId, `the SPU of ${l.skuId}`),
        unitPrice: formatAmount(l.price, currency),
        quantity: l.quantity,
      })),
      input.couponId ?? null,
    );
    if (input.couponId && !quote.coupon)
      return {
        ...refuse(OrderCode.COUPON_UNAVAILABLE),
        message: `${message(OrderCode.COUPON_UNAVAILABLE)}: ${quote.couponReason ?? "UNKNOWN"}`,
      };
    if (expected && !expected.eq(quote.payable)) return { ...refuse(OrderCode.PRICE_CHANGED), quote: quoteView(quote) };
    lines.forEach((l, i) => {
      const q = quote.lines[i];
      if (q?.skuId !== l.skuId) throw new Error("promotion quoted other lines than asked");
      l.discount = new Decimal(q.discount);
      l.payable = new Decimal(q.payable);
    });

    const orderId = randomUUID();
    const state: PlaceOrderState = {
      keys: {
        orderId,
        buyerId,
        reservationKey: `order:${orderId}`,
        couponId: input.couponId ?? null,
        fromCart,
        skuIds: lines.map((l) => l.skuId),
      },
      draft: {
        idempotencyKey: idem,
        lines,
        currency,
        itemsTotal: new Decimal(quote.itemsTotal),
        discount: new Decimal(quote.discount),
        couponDiscount: new Decimal(quote.coupon?.discount ?? 0),
        address: { id: address.id, receiver: address.receiver, phone: address.phone, region: address.region, detail: address.detail },
        note: input.note ?? null,
        paymentMethod: input.paymentMethod ?? null,
        expiresAt: new Date(Date.now() + this.d.paymentTimeoutSeconds * 1000),
        reservationTtlSeconds: this.d.paymentTimeoutSeconds + RESERVATION_MARGIN_SECONDS,
        itemIds: lines.map(() => randomUUID()),
      },
      eventIds: [],
    };
    const expiresAt = defined(state.draft, "the order draft").expiresAt;
    try {
      await this.d.workflows.run(this.d.placeOrderWorkflow, placeOrderRunId(orderId), state, { hooks: this.d.hooks?.placeOrder });
    } catch (e) {
      if (e instanceof WorkflowAbort) {
        if (e.code === "DUPLICATE") {
          const dup = await this.reads.byIdempotencyKey(buyerId, idem);
          if (dup) return ok(dup);
        }
        if (e.code === "DUPLICATE") throw new AppError(ErrorCode.CONFLICT, "an order with this idempotency key is being placed; ask again");
        if (!isPlaceCode(e.code)) throw new Error(`order placement aborted with ${e.code}`, { cause: e });
        return refuse(e.code, (e.details.failedSkuId as string | null | undefined) ?? null);
      }
      // past the pivot the order stands: what failed after it (the cart clean-up) is the sweep's
      if (!(e instanceof WorkflowFailed && e.report.pastPivot)) throw e;
    }
    // the order's events first, relayed by this request (in its trace): the workers' periodic relay leaves
    // them to it while they are young (OutboxRelay periodicMinAgeMs; the tracing e2e test lost that race once)
    void this.d.jobs.flush();
    await this.jobs.scheduleTimeout(orderId, expiresAt);
    // the order as written (a direct buy's run is complete); past the pivot with a failed cart clean-up, read it
    return ok(state.placedAt ? placedOrder(state) : await this.reads.get(orderId));
  }
}

function quoteView(q: PriceQuote): OrderQuoteView {
  return { itemsTotal: q.itemsTotal, discount: q.discount, payable: q.payable, currency: q.currency };
}

function ok(order: OrderRecord | null): PlaceOrderOutcome {
  return { code: OrderCode.OK, message: null, failedSkuId: null, order };
}

function refuse(code: PlaceCode, failedSkuId: string | null = null): PlaceOrderOutcome {
  return { code, message: message(code), failedSkuId, order: null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
