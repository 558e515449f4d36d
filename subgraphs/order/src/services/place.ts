/**
 * Placing an order (cart or direct buy): input checks, one submission per idempotency key at a time
 * (a Redis lock), the address and the seckill-only SKUs, then the durable placeOrder workflow
 * (src/workflows/placeOrder.ts: the reservation, which also prices the lines; promotion's quote of
 * them, the same pricing function the cart shows, `expectedPayable` catching a price that moved; the
 * coupon; the order). The payment time-out is the workers' sweep (decision 0051).
 */
import { randomUUID } from "node:crypto";
import { AppError, ErrorCode, badInput, defined } from "@mallgraph/platform/errors";
import { Decimal, parseDecimalAmount } from "@mallgraph/platform/money";
import { keyFor, lockReleaser } from "@mallgraph/platform/redis";
import { WorkflowAbort, WorkflowFailed } from "@mallgraph/platform/workflow";
import { OrderCode, isPlaceCode, message, type PlaceCode } from "../errors.ts";
import { placedOrder, placeOrderRunId, type PlaceOrderState } from "../workflows/placeOrder.ts";
import type { AddressSnapshot, PriceQuote, StockLine } from "./ports.ts";
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
    // its digits are checked against the currency once the reservation priced the lines
    if (input.expectedPayable != null) parseDecimalAmount(input.expectedPayable, { field: "expectedPayable", allowZero: true });

    // A direct buy's lines are known now: checked (no I/O; a refusal is answered under the lock, like
    // every other) so that its seckill flags go out with the lock.
    const direct = input.fromCart === true ? null : settle(() => directLines(input.items));
    const lockKey = this.key("submit", buyerId, idem);
    const token = randomUUID();
    const lock = () => this.d.redis.set(lockKey, token, "PX", LOCK_TTL_MS, "NX");
    // In the lock's tick, one auto-pipelined Redis write: the lock, the seckill flags, the order number
    // (a number of a submission that places nothing is skipped: numbers are unique, not gap-free); the
    // address read beside it. A retry of a key still being placed only wastes them.
    const first = lock();
    const asked = direct && "asked" in direct ? direct.asked : null;
    const reads: PlacementReads | null =
      direct === null || asked
        ? {
            address: quiet(this.d.member.address(buyerId, input.addressId)),
            seckillFlags: asked ? quiet(this.seckillFlags(asked)) : null,
            orderNo: quiet(this.d.nextOrderNo()),
          }
        : null;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (let got = await first; got !== "OK"; got = await lock()) {
      if (Date.now() > deadline) throw new AppError(ErrorCode.CONFLICT, "an order with this idempotency key is being placed; retry");
      await sleep(40);
    }
    // Under the lock, a retry (an order this key placed already) is answered with that order, without a
    // look-up statement on the way of every order (decision 0050): the run's first record refuses to
    // start another (DUPLICATE, before the reservation), and what refuses or fails before the run (an
    // emptied cart, an address deleted since, a service down) looks for the order first.
    const stage = { running: false };
    try {
      const out = await this.placeLocked(buyerId, input, idem, direct, reads, stage);
      if (out.code === OrderCode.OK || stage.running) return out;
      const placed = await this.reads.byIdempotencyKey(buyerId, idem);
      return placed ? ok(placed) : out;
    } catch (e) {
      const placed = stage.running ? null : await this.reads.byIdempotencyKey(buyerId, idem).catch(() => null);
      if (placed) return ok(placed);
      throw e;
    } finally {
      await this.releaseLock(lockKey, token).catch(() => undefined);
    }
  }

  /** Which of the SKUs only seckill sells (promotion's `seckill-skus` set), one flag per line. */
  private seckillFlags(asked: StockLine[]): Promise<number[]> {
    return this.d.redis.smismember(keyFor(this.d.prefix, "promotion")("seckill-skus"), ...asked.map((l) => l.skuId));
  }

  /** `stage.running` is set once the workflow runs (its answers need no look-up for an earlier order). */
  private async placeLocked(
    buyerId: string,
    input: PlaceOrderInput,
    idem: string,
    direct: Settled<Lines> | null,
    prefetched: PlacementReads | null,
    stage: { running: boolean },
  ): Promise<PlaceOrderOutcome> {
    const fromCart = direct === null;
    let lines: Lines;
    if (direct) {
      if ("error" in direct) throw direct.error;
      lines = direct;
    } else {
      const requested = await this.d.cart.checkedLines(buyerId);
      if (!requested.length) return refuse(OrderCode.EMPTY_CART);
      lines = mergeLines(requested);
    }
    if ("refused" in lines) return lines.refused;
    const asked = lines.asked;
    const reads = defined(prefetched, "the placement's reads");
    // the SKUs themselves are checked and priced by the reservation (decision 0049)
    const [address, seckillFlags, orderNo] = await Promise.all([
      reads.address,
      reads.seckillFlags ?? this.seckillFlags(asked),
      reads.orderNo,
    ]);
    if (!address) return refuse(OrderCode.ADDRESS_NOT_FOUND);
    const seckillSku = asked.find((_, i) => seckillFlags[i]);
    if (seckillSku) return refuse(OrderCode.SECKILL_NOT_ALLOWED, seckillSku.skuId);

    const orderId = randomUUID();
    const state: PlaceOrderState = {
      keys: {
        orderId,
        buyerId,
        reservationKey: `order:${orderId}`,
        couponId: input.couponId ?? null,
        fromCart,
        skuIds: asked.map((l) => l.skuId),
      },
      draft: {
        idempotencyKey: idem,
        asked,
        lines: [],
        currency: "",
        itemsTotal: new Decimal(0),
        discount: new Decimal(0),
        couponDiscount: new Decimal(0),
        expectedPayable: input.expectedPayable ?? null,
        address: { id: address.id, receiver: address.receiver, phone: address.phone, region: address.region, detail: address.detail },
        note: input.note ?? null,
        paymentMethod: input.paymentMethod ?? null,
        expiresAt: new Date(Date.now() + this.d.paymentTimeoutSeconds * 1000),
        reservationTtlSeconds: this.d.paymentTimeoutSeconds + RESERVATION_MARGIN_SECONDS,
        itemIds: asked.map(() => randomUUID()),
        orderNo,
      },
      eventIds: [],
    };
    stage.running = true;
    try {
      await this.d.workflows.run(this.d.placeOrderWorkflow, placeOrderRunId(orderId), state, { hooks: this.d.hooks?.placeOrder });
    } catch (e) {
      if (e instanceof WorkflowAbort) {
        if (e.code === "DUPLICATE") {
          const dup = await this.reads.byIdempotencyKey(buyerId, idem);
          if (dup) return ok(dup);
        }
        if (e.code === "DUPLICATE") throw new AppError(ErrorCode.CONFLICT, "an order with this idempotency key is being placed; ask again");
        if (e.code === "BAD_INPUT") throw e.details.error;
        if (!isPlaceCode(e.code)) throw new Error(`order placement aborted with ${e.code}`, { cause: e });
        if (e.code === OrderCode.PRICE_CHANGED) return { ...refuse(e.code), quote: quoteView(e.details.quote as PriceQuote) };
        if (e.code === OrderCode.COUPON_UNAVAILABLE && e.details.couponReason)
          return { ...refuse(e.code), message: `${message(e.code)}: ${String(e.details.couponReason)}` };
        return refuse(e.code, (e.details.failedSkuId as string | null | undefined) ?? null);
      }
      // undone before the pivot because a service failed: its error (e.g. SERVICE_UNAVAILABLE) is the answer
      if (e instanceof WorkflowFailed && !e.report.pastPivot && e.cause instanceof AppError) throw e.cause;
      // past the pivot the order stands: what failed after it (the cart clean-up) is the sweep's
      if (!(e instanceof WorkflowFailed && e.report.pastPivot)) throw e;
    }
    // the order's events first, relayed by this request (in its trace): the workers' periodic relay leaves
    // them to it while they are young (OutboxRelay periodicMinAgeMs; the tracing e2e test lost that race once)
    void this.d.jobs.flush();
    // the payment time-out is the workers' sweep of due orders (decision 0051): no job per order
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

/** The lines to order (repeated SKUs merged, quantities checked), or the refusal. */
type Lines = { asked: StockLine[] } | { refused: PlaceOrderOutcome };

/** What the placement reads beside its lock (started in the lock's tick). */
interface PlacementReads {
  address: Promise<AddressSnapshot | null>;
  /** null for an order from the cart: its lines are known under the lock. */
  seckillFlags: Promise<number[]> | null;
  orderNo: Promise<string>;
}

function directLines(items: StockLine[] | null | undefined): Lines {
  if (!items?.length) throw badInput("items are required for a direct buy (or set fromCart)", { field: "items" });
  return mergeLines(items);
}

/** Merges repeated SKUs and checks the quantities: a malformed SKU id is bad input, a bad quantity a refusal. */
function mergeLines(requested: StockLine[]): Lines {
  const merged = new Map<string, number>();
  for (const l of requested) {
    if (typeof l.skuId !== "string" || !l.skuId.trim() || l.skuId.length > 64)
      throw badInput("skuId must be a non-empty id", { field: "items.skuId" });
    if (!Number.isInteger(l.quantity) || l.quantity < 1) return { refused: refuse(OrderCode.BAD_QUANTITY, l.skuId) };
    merged.set(l.skuId, (merged.get(l.skuId) ?? 0) + l.quantity);
  }
  if (merged.size > MAX_LINES) throw badInput(`at most ${MAX_LINES} lines per order`, { field: "items" });
  for (const [skuId, q] of merged) if (q > MAX_LINE_QUANTITY) return { refused: refuse(OrderCode.BAD_QUANTITY, skuId) };
  return { asked: [...merged].map(([skuId, quantity]) => ({ skuId, quantity })) };
}

type Settled<T> = T | { error: unknown };

/** What `f` returns, or what it throws as `{ error }` (answered later, under the lock). */
function settle<T extends object>(f: () => T): Settled<T> {
  try {
    return f();
  } catch (error) {
    return { error };
  }
}

/** The promise itself, with its rejection marked handled: it may never be awaited (a lock not had). */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
