/**
 * Cart rules. Lines live in one Redis hash per member (`<prefix>:{cart}:cart:<memberId>`, field =
 * SKU id, value = JSON {q, c, t}); every change that depends on the current line runs in a Lua
 * script so concurrent adds never lose or overshoot a quantity.
 *
 * Prices with promotions are promotion's (services/pricing.ts, the Cart.totals / pricing resolvers).
 *
 * Seckill: until the promotion subgraph maintains it, a SKU is a seckill item when it is a member
 * of the Redis set `<prefix>:{promotion}:seckill-skus`; such SKUs are refused (SECKILL_NOT_ALLOWED).
 */
import { badInput, defined } from "@mallgraph/platform/errors";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import { defineLua, entityKeyFor, keyFor } from "@mallgraph/platform/redis";
import type { Redis } from "@mallgraph/platform/redis";
import { CART_MESSAGES, CartCode } from "../errors.ts";
import type { CatalogPort } from "./ports.ts";
import type { CartCode as Code, CartLineView, CartOutcome, CartView, SkuSnapshot, StoredLine } from "./types.ts";

export const MAX_LINE_QUANTITY = 999;
export const MAX_LINES = 120;
export const CART_TTL_SECONDS = 90 * 24 * 3600;
const DEFAULT_CURRENCY = "CNY";
const MAX_IDS = 200;

type LuaReply = [string, number];

export interface CartServiceDeps {
  redis: Redis;
  prefix: string;
  catalog: CatalogPort;
}

export function seckillSkusKey(prefix: string): string {
  return keyFor(prefix, "promotion")("seckill-skus");
}

/** A member's cart hash, under the member's own hash tag (one Redis Cluster slot a cart, decision 0033). */
export function cartKey(prefix: string, memberId: string): string {
  return entityKeyFor(prefix, "cart", "cart", memberId)();
}

export class CartService {
  private readonly key;
  private readonly addItem;
  private readonly setQuantity;
  private readonly checkItems;

  constructor(private readonly deps: CartServiceDeps) {
    this.key = (memberId: string) => cartKey(deps.prefix, memberId);
    this.addItem = defineLua<[string, string, number, number, number, number, number, number], LuaReply>(
      deps.redis,
      "cartAddItem",
      new URL("../lua/addItem-cart.lua", import.meta.url),
      1,
    );
    this.setQuantity = defineLua<[string, string, number, number, string, number], LuaReply>(
      deps.redis,
      "cartSetQuantity",
      new URL("../lua/setQuantity-cart.lua", import.meta.url),
      1,
    );
    this.checkItems = defineLua<[string, number, ...string[]], number>(
      deps.redis,
      "cartCheckItems",
      new URL("../lua/checkItems-cart.lua", import.meta.url),
      1,
    );
  }

  // ---------------------------------------------------------------- reads

  async lines(memberId: string): Promise<StoredLine[]> {
    const h = await this.deps.redis.hgetall(this.key(memberId));
    return Object.entries(h)
      .map(([skuId, raw]) => {
        const v = JSON.parse(raw) as { q: number; c: number; t: number };
        return { skuId, quantity: v.q, checked: v.c === 1, addedAt: v.t };
      })
      .sort((a, b) => b.addedAt - a.addedAt || a.skuId.localeCompare(b.skuId));
  }

  /** The cart with fresh prices, shelf status and stock (one batched catalog call). */
  async view(memberId: string): Promise<CartView> {
    const lines = await this.lines(memberId);
    const snaps = await this.deps.catalog.skuSnapshots(lines.map((l) => l.skuId));
    const items: CartLineView[] = lines.map((l, i) => {
      const s = snaps[i] ?? null;
      if (!s) return { ...l, spuId: null, unitPrice: null, subtotal: null, currency: null, status: "NOT_FOUND" };
      const price = new Decimal(s.price);
      return {
        ...l,
        spuId: s.spuId,
        unitPrice: formatAmount(price, s.currency),
        subtotal: formatAmount(price.times(l.quantity), s.currency),
        currency: s.currency,
        status: !s.onShelf ? "OFF_SHELF" : s.available < l.quantity ? "OUT_OF_STOCK" : "OK",
      };
    });
    // Totals and pricing: checked lines whose SKU exists and is on shelf, in the currency of the
    // newest such line (a cart in several currencies totals that one currency; order refuses mixed
    // currencies). Discounts come from promotion (Cart.totals / Cart.pricing resolvers).
    const countable = items.filter((l) => l.checked && l.currency && l.status !== "NOT_FOUND" && l.status !== "OFF_SHELF");
    const currency = countable[0]?.currency ?? DEFAULT_CURRENCY;
    const priced = countable.filter((l) => l.currency === currency);
    const total = priced.reduce((sum, l) => sum.plus(defined(l.subtotal, "a priced line's subtotal")), new Decimal(0));
    return {
      id: memberId,
      items,
      priced: priced.map((l) => ({
        skuId: l.skuId,
        spuId: defined(l.spuId, "a priced line's spuId"),
        unitPrice: defined(l.unitPrice, "a priced line's unit price"),
        quantity: l.quantity,
      })),
      currency,
      itemsTotal: formatAmount(total, currency),
      checkedQuantity: priced.reduce((n, l) => n + l.quantity, 0),
    };
  }

  async checkedLines(memberId: string): Promise<Array<{ skuId: string; quantity: number }>> {
    return (await this.lines(memberId)).filter((l) => l.checked).map(({ skuId, quantity }) => ({ skuId, quantity }));
  }

  // ---------------------------------------------------------------- writes

  async add(memberId: string, skuId: string, quantity: number): Promise<CartOutcome> {
    assertSkuId(skuId);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) return this.outcome(memberId, CartCode.BAD_QUANTITY);
    const refusal = await this.refusal(skuId);
    if (refusal.code) return this.outcome(memberId, refusal.code);
    const [code] = await this.addItem(
      this.key(memberId),
      skuId,
      quantity,
      defined(refusal.snapshot, "the snapshot of an accepted SKU").available,
      MAX_LINES,
      MAX_LINE_QUANTITY,
      Date.now(),
      CART_TTL_SECONDS,
    );
    return this.outcome(memberId, code as Code);
  }

  async update(memberId: string, skuId: string, quantity: number): Promise<CartOutcome> {
    assertSkuId(skuId);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_LINE_QUANTITY) return this.outcome(memberId, CartCode.BAD_QUANTITY);
    const refusal = await this.refusal(skuId);
    const [code] = await this.setQuantity(
      this.key(memberId),
      skuId,
      quantity,
      refusal.snapshot?.available ?? 0,
      refusal.code ?? "",
      CART_TTL_SECONDS,
    );
    return this.outcome(memberId, code as Code);
  }

  async remove(memberId: string, skuIds: string[]): Promise<CartOutcome> {
    assertIds(skuIds);
    if (skuIds.length) await this.deps.redis.hdel(this.key(memberId), ...skuIds);
    return this.outcome(memberId, CartCode.OK);
  }

  async check(memberId: string, skuIds: string[], checked: boolean): Promise<CartOutcome> {
    assertIds(skuIds);
    await this.checkItems(this.key(memberId), checked ? 1 : 0, ...skuIds);
    return this.outcome(memberId, CartCode.OK);
  }

  async clear(memberId: string): Promise<CartOutcome> {
    await this.deps.redis.del(this.key(memberId));
    return this.outcome(memberId, CartCode.OK);
  }

  /** Internal: drop lines that were ordered. Idempotent. */
  async removeSkus(memberId: string, skuIds: string[]): Promise<boolean> {
    assertIds(skuIds);
    if (skuIds.length) await this.deps.redis.hdel(this.key(memberId), ...skuIds);
    return true;
  }

  // ---------------------------------------------------------------- helpers

  /** Why a SKU may not be added (or raised); with the snapshot when it may. */
  private async refusal(skuId: string): Promise<{ code?: Code; snapshot?: SkuSnapshot }> {
    const [isSeckill, [snap]] = await Promise.all([
      this.deps.redis.sismember(seckillSkusKey(this.deps.prefix), skuId),
      this.deps.catalog.skuSnapshots([skuId]),
    ]);
    if (!snap) return { code: CartCode.NOT_FOUND };
    if (isSeckill) return { code: CartCode.SECKILL_NOT_ALLOWED, snapshot: snap };
    if (!snap.onShelf) return { code: CartCode.OFF_SHELF, snapshot: snap };
    return { snapshot: snap };
  }

  private async outcome(memberId: string, code: Code): Promise<CartOutcome> {
    return { code, message: code === "OK" ? null : (CART_MESSAGES[code] ?? code), cart: await this.view(memberId) };
  }
}

function assertSkuId(id: string): void {
  if (typeof id !== "string" || !id.trim() || id.length > 64) throw badInput("skuId must be a non-empty id", { field: "skuId" });
}

function assertIds(ids: string[]): void {
  if (ids.length > MAX_IDS) throw badInput(`at most ${MAX_IDS} SKU ids`, { field: "skuIds" });
  for (const id of ids) assertSkuId(id);
}
