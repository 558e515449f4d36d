/**
 * SPUs and SKUs: creation with validation (category leaf, attribute kinds, exact prices), shelving
 * (DRAFT → ON_SHELF ⇄ OFF_SHELF), and the batched loads behind product detail and the entities.
 * Every change that affects a search document writes a search-outbox row in the same transaction.
 */
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { Reason, alreadyExists, assertQuantity, assertText, invalidState, notFound, refuse } from "../errors.ts";
import type { CategoryService } from "./categories.ts";
import { touchSearch, type Deps, type Tx } from "./deps.ts";
import { Prisma, type SpuStatus } from "../generated/prisma/client.ts";
import { LiveVersions, LocalCache, VersionedCache, isRedisError } from "./product-cache.ts";

export interface SkuInput {
  code: string;
  title: string;
  price: string;
  currency: string;
  images?: string[] | null;
  saleAttributeValueIds?: string[] | null;
  initialStock?: number | null;
}

export interface ProductInput {
  title: string;
  subtitle?: string | null;
  description?: string | null;
  images?: string[] | null;
  categoryId: string;
  brandId?: string | null;
  baseAttributeValueIds?: string[] | null;
  skus?: SkuInput[] | null;
}

export interface ProductUpdate {
  title?: string | null;
  subtitle?: string | null;
  description?: string | null;
  images?: string[] | null;
  brandId?: string | null;
  baseAttributeValueIds?: string[] | null;
}

export interface SkuUpdate {
  title?: string | null;
  price?: string | null;
  currency?: string | null;
  images?: string[] | null;
}

export interface AttrPair {
  attributeId: string;
  name: string;
  valueId: string;
  value: string;
  sort: number;
}

export interface SkuView {
  id: string;
  spuId: string;
  code: string;
  title: string;
  price: string;
  currency: string;
  images: string[];
  onShelf: boolean;
  stock: { available: number; reserved: number; sold: number };
  saleAttributes: AttrPair[];
}

export interface ProductView {
  id: string;
  title: string;
  subtitle: string | null;
  description: string | null;
  images: string[];
  status: SpuStatus;
  onShelfAt: Date | null;
  sales: number;
  category: { id: string; name: string; level: number; sort: number; parentId: string | null; children: [] };
  brand: { id: string; name: string; logo: string | null; description: string | null } | null;
  baseAttributes: AttrPair[];
  skus: SkuView[];
}

const attrInclude = { include: { attributeValue: { include: { attribute: true } } } } as const;
export const skuInclude = { inventory: true, attributes: attrInclude } satisfies Prisma.SkuInclude;
export const spuInclude = {
  brand: true,
  category: true,
  attributes: attrInclude,
  skus: { include: skuInclude, orderBy: [{ sort: "asc" }, { code: "asc" }] },
} satisfies Prisma.SpuInclude;

type SkuRow = Prisma.SkuGetPayload<{ include: typeof skuInclude }>;
type SpuRow = Prisma.SpuGetPayload<{ include: typeof spuInclude }>;

function pairs(rows: Array<{ attributeValue: { id: string; value: string; attribute: { id: string; name: string; sort: number } } }>): AttrPair[] {
  return rows
    .map((r) => ({ attributeId: r.attributeValue.attribute.id, name: r.attributeValue.attribute.name, valueId: r.attributeValue.id, value: r.attributeValue.value, sort: r.attributeValue.attribute.sort }))
    .sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name));
}

export function toSkuView(s: SkuRow, spuStatus: SpuStatus): SkuView {
  return {
    id: s.id,
    spuId: s.spuId,
    code: s.code,
    title: s.title,
    price: formatAmount(s.price, s.currency),
    currency: s.currency,
    images: s.images,
    onShelf: spuStatus === "ON_SHELF",
    stock: { available: s.inventory?.available ?? 0, reserved: s.inventory?.reserved ?? 0, sold: s.inventory?.sold ?? 0 },
    saleAttributes: pairs(s.attributes),
  };
}

export function toProductView(p: SpuRow): ProductView {
  return {
    id: p.id,
    title: p.title,
    subtitle: p.subtitle,
    description: p.description,
    images: p.images,
    status: p.status,
    onShelfAt: p.onShelfAt,
    sales: p.sales,
    category: { id: p.category.id, name: p.category.name, level: p.category.level, sort: p.category.sort, parentId: p.category.parentId, children: [] },
    brand: p.brand,
    baseAttributes: pairs(p.attributes),
    skus: p.skus.map((s) => toSkuView(s, p.status)),
  };
}

/** The cacheable part of a product view (no status, sales, stock; category by id). */
export interface StaticSku {
  id: string;
  spuId: string;
  code: string;
  title: string;
  price: string;
  currency: string;
  images: string[];
  saleAttributes: AttrPair[];
}
export interface StaticProduct {
  id: string;
  title: string;
  subtitle: string | null;
  description: string | null;
  images: string[];
  categoryId: string;
  brand: ProductView["brand"];
  baseAttributes: AttrPair[];
  skus: StaticSku[];
}

export function toStaticProduct(p: SpuRow): StaticProduct {
  const v = toProductView(p);
  return {
    id: v.id,
    title: v.title,
    subtitle: v.subtitle,
    description: v.description,
    images: v.images,
    categoryId: p.categoryId,
    brand: v.brand ? { id: v.brand.id, name: v.brand.name, logo: v.brand.logo, description: v.brand.description } : null,
    baseAttributes: v.baseAttributes,
    skus: v.skus.map(({ onShelf: _o, stock: _s, ...k }) => k),
  };
}

/** Prices are stored as Decimal(18,4): at most 14 integer digits. */
const PRICE_LIMIT = new Decimal("1e14");

/** A SKU price: exact, no more decimals than the currency has, and within the column's range. */
function skuPrice(value: string, currency: string): string {
  const d = parseAmount(value, currency, { field: "price", allowZero: true });
  if (d.gte(PRICE_LIMIT)) throw refuse(Reason.BAD_PRICE, "price must be below 100000000000000", { field: "price" });
  return d.toString();
}

type LiveRow = { spuId: string; status: SpuStatus; sales: number; onShelfAt: Date | string | null; skuId: string | null; available: number | null; reserved: number | null; sold: number | null };

export interface SaleMatrix {
  attributes: Array<{ id: string; name: string; values: Array<{ id: string; value: string }> }>;
  combinations: Array<{ skuId: string; valueIds: string[]; price: string; available: number }>;
}

/** The sale-attribute axes of a product and which SKU each value combination is. */
export function saleMatrix(p: ProductView): SaleMatrix {
  const axes = new Map<string, { id: string; name: string; sort: number; values: Map<string, string> }>();
  for (const s of p.skus)
    for (const a of s.saleAttributes) {
      const axis = axes.get(a.attributeId) ?? { id: a.attributeId, name: a.name, sort: a.sort, values: new Map() };
      axis.values.set(a.valueId, a.value);
      axes.set(a.attributeId, axis);
    }
  const ordered = [...axes.values()].sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name));
  return {
    attributes: ordered.map((a) => ({ id: a.id, name: a.name, values: [...a.values].map(([id, value]) => ({ id, value })) })),
    combinations: p.skus.map((s) => ({
      skuId: s.id,
      valueIds: ordered.map((a) => s.saleAttributes.find((x) => x.attributeId === a.id)?.valueId ?? ""),
      price: s.price,
      available: s.stock.available,
    })),
  };
}

/**
 * How long an in-process product view may be served while its versions stay put. Versions make
 * reads exact; this only bounds how long a change whose bump was lost (a process dying between
 * commit and bump) can go unseen — and it sets the miss rate of products read less often than this.
 */
const VIEW_TTL_MS = 60_000;

type Live = { status: SpuStatus; sales: number; onShelfAt: Date | null; stock: Map<string, SkuView["stock"]> };

export class ProductService {
  /** Static product parts, cached in Redis and in process (product-cache.ts). */
  readonly cache: VersionedCache<StaticProduct>;
  /** Versions of the live parts (status, sales, stock): bumped by every stock or status change. */
  readonly live: LiveVersions;
  /** Whole product views in process, tagged with the versions they were built from. */
  private views = new LocalCache<ProductView>(20_000, VIEW_TTL_MS);
  /** Loads in flight per `<id>@<versions>` (concurrent misses of one product share one load). */
  private inflight = new Map<string, Promise<ProductView | null>>();
  /** SKU → SPU (a SKU never moves to another SPU, and SKUs are not deleted). */
  private spuOfSku = new Map<string, string>();

  constructor(
    private d: Deps,
    private categories: CategoryService,
  ) {
    this.cache = new VersionedCache<StaticProduct>(d, "product", (ids) => this.loadStatic(ids));
    this.live = new LiveVersions(d);
  }

  /** Static parts from PostgreSQL: one query (relation joins). */
  async loadStatic(ids: readonly string[]): Promise<Array<StaticProduct | null>> {
    const rows = await this.d.prisma.spu.findMany({ relationLoadStrategy: "join", where: { id: { in: [...new Set(ids)] } }, include: spuInclude });
    const byId = new Map(rows.map((r) => [r.id, toStaticProduct(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** Live parts (status, sales, stock) of SPUs and their SKUs: one SQL statement. */
  private async loadLive(spuIds: string[]): Promise<Map<string, Live>> {
    const out = new Map<string, Live>();
    if (!spuIds.length) return out;
    const rows = await this.d.prisma.$queryRaw<LiveRow[]>`
      SELECT s."id" AS "spuId", s."status"::text AS "status", s."sales", s."onShelfAt", k."id" AS "skuId", i."available", i."reserved", i."sold"
      FROM "Spu" s LEFT JOIN "Sku" k ON k."spuId" = s."id" LEFT JOIN "Inventory" i ON i."skuId" = k."id"
      WHERE s."id" IN (${Prisma.join(spuIds)})`;
    for (const r of rows) {
      let e = out.get(r.spuId);
      if (!e) {
        e = { status: r.status, sales: Number(r.sales), onShelfAt: r.onShelfAt ? new Date(r.onShelfAt) : null, stock: new Map() };
        out.set(r.spuId, e);
      }
      if (r.skuId) e.stock.set(r.skuId, { available: Number(r.available ?? 0), reserved: Number(r.reserved ?? 0), sold: Number(r.sold ?? 0) });
    }
    return out;
  }

  /**
   * Product views in the order of `ids` (null for unknown ids). Warm: one Redis MGET of the
   * versions (category tree, static and live part of each SPU) and the views from process memory.
   * A product whose versions moved is rebuilt: static part from the caches, live part from one SQL
   * statement per batch.
   */
  async loadProducts(ids: readonly string[]): Promise<Array<ProductView | null>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return ids.map(() => null);
    let versions: Array<string | null>;
    try {
      versions = await this.d.redis.mget(this.categories.versionKey(), ...unique.flatMap((id) => [this.cache.versionKey(id), this.live.key(id)]));
    } catch (e) {
      if (!isRedisError(e)) throw e;
      const views = await this.build(unique, null); // Redis unavailable: serve from PostgreSQL
      const byId = new Map(unique.map((id, i) => [id, views[i]]));
      return ids.map((id) => byId.get(id) ?? null);
    }
    const treeVersion = versions[0] ?? "0";
    const byId = new Map<string, Promise<ProductView | null> | ProductView>();
    const toLoad: Array<{ id: string; staticVersion: string; tag: string }> = [];
    unique.forEach((id, i) => {
      const staticVersion = versions[1 + 2 * i] ?? "0";
      const tag = `${treeVersion}.${staticVersion}.${versions[2 + 2 * i] ?? "0"}`;
      const hit = this.views.get(id, tag) ?? this.inflight.get(`${id}@${tag}`);
      if (hit) byId.set(id, hit);
      else toLoad.push({ id, staticVersion, tag });
    });
    if (toLoad.length) {
      const batch = this.build(
        toLoad.map((l) => l.id),
        { tree: treeVersion, statics: toLoad.map((l) => l.staticVersion) },
      );
      toLoad.forEach((l, i) => {
        const key = `${l.id}@${l.tag}`;
        const p = batch.then((views) => {
          const v = views[i] ?? null;
          if (v) this.views.set(l.id, l.tag, v);
          return v;
        });
        this.inflight.set(key, p);
        void p.then(
          () => this.inflight.delete(key),
          () => this.inflight.delete(key),
        );
        byId.set(l.id, p);
      });
    }
    const resolved = new Map<string, ProductView | null>();
    await Promise.all([...byId].map(async ([id, v]) => resolved.set(id, await v)));
    return ids.map((id) => resolved.get(id) ?? null);
  }

  /** Builds views from the static caches (at the versions given; none: straight from PostgreSQL) and the live SQL. */
  private async build(ids: string[], at: { tree: string; statics: string[] } | null): Promise<Array<ProductView | null>> {
    const [statics, live, tree] = await Promise.all([
      at ? this.cache.getManyAt(ids, at.statics) : this.loadStatic(ids),
      this.loadLive(ids),
      at ? this.categories.treeAt(at.tree) : this.categories.treeFromDb(),
    ]);
    const cats = new Map<string, ProductView["category"]>();
    const walk = (nodes: typeof tree) => {
      for (const n of nodes) {
        cats.set(n.id, { id: n.id, name: n.name, level: n.level, sort: n.sort, parentId: n.parentId, children: [] });
        walk(n.children);
      }
    };
    walk(tree);
    return ids.map((id, i) => {
      const st = statics[i];
      const lv = live.get(id);
      if (!st || !lv) return null;
      return {
        id: st.id,
        title: st.title,
        subtitle: st.subtitle,
        description: st.description,
        images: st.images,
        status: lv.status,
        onShelfAt: lv.onShelfAt,
        sales: lv.sales,
        category: cats.get(st.categoryId) ?? { id: st.categoryId, name: "", level: 3, sort: 0, parentId: null, children: [] },
        brand: st.brand,
        baseAttributes: st.baseAttributes,
        skus: st.skus.map((k) => ({ ...k, onShelf: lv.status === "ON_SHELF", stock: lv.stock.get(k.id) ?? { available: 0, reserved: 0, sold: 0 } })),
      };
    });
  }

  /** SKU views in the order of `ids` (null for unknown ids): the SKUs' SPUs (memoized), then the product load. */
  async loadSkus(ids: readonly string[]): Promise<Array<SkuView | null>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return [];
    const unknown = unique.filter((id) => !this.spuOfSku.has(id));
    if (unknown.length) {
      const rows = await this.d.prisma.$queryRaw<Array<{ id: string; spuId: string }>>`SELECT "id", "spuId" FROM "Sku" WHERE "id" IN (${Prisma.join(unknown)})`;
      if (this.spuOfSku.size > 200_000) this.spuOfSku.clear();
      for (const r of rows) this.spuOfSku.set(r.id, r.spuId);
    }
    const products = await this.loadProducts([...new Set(unique.map((id) => this.spuOfSku.get(id)).filter((x): x is string => !!x))]);
    const skus = new Map<string, SkuView>();
    for (const p of products) for (const k of p?.skus ?? []) skus.set(k.id, k);
    return ids.map((id) => skus.get(id) ?? null);
  }

  /** Internal: SKU snapshots for order and cart, in the order of `ids` (from the product views: as fresh as they are). */
  async snapshots(ids: readonly string[]) {
    if (ids.length > 500) throw refuse(Reason.BAD_QUANTITY, "at most 500 ids");
    const skus = await this.loadSkus(ids);
    const products = new Map((await this.loadProducts([...new Set(skus.filter((k): k is SkuView => !!k).map((k) => k.spuId))])).filter((p): p is ProductView => !!p).map((p) => [p.id, p]));
    return skus.map((k) => {
      if (!k) return null;
      return {
        id: k.id,
        spuId: k.spuId,
        title: k.title,
        price: k.price,
        currency: k.currency,
        onShelf: k.onShelf,
        available: k.stock.available,
        image: k.images[0] ?? products.get(k.spuId)?.images[0] ?? null,
      };
    });
  }

  private async checkAttributeValues(tx: Tx, categoryId: string, ids: string[], kind: "BASE" | "SALE", field: string) {
    const unique = [...new Set(ids)];
    if (!unique.length) return [];
    const values = await tx.attributeValue.findMany({ where: { id: { in: unique } }, include: { attribute: true } });
    if (values.length !== unique.length) throw notFound("attribute value", unique.find((id) => !values.some((v) => v.id === id)));
    for (const v of values) {
      if (v.attribute.categoryId !== categoryId || v.attribute.kind !== kind)
        throw refuse(Reason.ATTRIBUTE_MISMATCH, `${field}: value ${v.id} is not a ${kind} attribute value of the product's category`, { field });
    }
    const perAttr = new Set(values.map((v) => v.attributeId));
    if (perAttr.size !== values.length) throw refuse(Reason.ATTRIBUTE_MISMATCH, `${field}: one value per attribute`, { field });
    return values;
  }

  private images(v: string[] | null | undefined, field: string): string[] {
    const list = v ?? [];
    if (list.length > 20) throw refuse(Reason.BAD_QUANTITY, `${field}: at most 20 images`, { field });
    return list.map((u, i) => assertText(u, `${field}[${i}]`, 1000));
  }

  private async addSkuTx(tx: Tx, spu: { id: string; categoryId: string; status: SpuStatus }, input: SkuInput, sort: number): Promise<string> {
    const code = assertText(input.code, "code", 64);
    const title = assertText(input.title, "title", 300);
    const currency = assertText(input.currency, "currency", 8);
    const price = skuPrice(input.price, currency);
    const stock = assertQuantity(input.initialStock ?? 0, "initialStock", { allowZero: true });
    const values = await this.checkAttributeValues(tx, spu.categoryId, input.saleAttributeValueIds ?? [], "SALE", "saleAttributeValueIds");
    if (values.length) {
      // the same value combination must not name two SKUs of one SPU
      const want = values.map((v) => v.id).sort().join(",");
      const siblings = await tx.sku.findMany({ where: { spuId: spu.id }, include: { attributes: true } });
      if (siblings.some((s) => s.attributes.map((a) => a.attributeValueId).sort().join(",") === want))
        throw refuse(Reason.ATTRIBUTE_MISMATCH, "another SKU of this product has the same sale attribute values");
    }
    // one currency per SPU: the lowest price (product detail, search) compares SKU prices
    const other = await tx.sku.findFirst({ where: { spuId: spu.id, currency: { not: currency } }, select: { currency: true } });
    if (other) throw refuse(Reason.CURRENCY_MISMATCH, `the SKUs of this product are priced in ${other.currency}`, { field: "currency" });
    if (await tx.sku.findUnique({ where: { code } })) throw alreadyExists(Reason.SKU_CODE_TAKEN, `SKU code ${code} is taken`);
    const sku = await tx.sku.create({ data: { spuId: spu.id, code, title, price, currency, images: this.images(input.images, "images"), sort } });
    if (values.length) await tx.skuAttributeValue.createMany({ data: values.map((v) => ({ skuId: sku.id, attributeValueId: v.id })) });
    await tx.inventory.create({ data: { skuId: sku.id, available: stock } });
    if (stock > 0) await tx.inboundRecord.create({ data: { skuId: sku.id, quantity: stock, note: "initial stock" } });
    if (spu.status === "ON_SHELF") await touchSearch(tx, [spu.id]);
    await this.cache.invalidate([spu.id]);
    await this.live.bump([spu.id]); // the new SKU's stock
    return sku.id;
  }

  private async tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.d.prisma.$transaction(fn, { timeout: 20_000 });
    } catch (e) {
      if (isUniqueViolation(e)) throw alreadyExists(Reason.SKU_CODE_TAKEN, "a SKU code is taken");
      throw e;
    }
  }

  async create(input: ProductInput): Promise<ProductView> {
    const title = assertText(input.title, "title", 300);
    const id = await this.tx(async (tx) => {
      await this.categories.requireLeaf(tx, input.categoryId);
      if (input.brandId && !(await tx.brand.findUnique({ where: { id: input.brandId } }))) throw notFound("brand", input.brandId);
      const base = await this.checkAttributeValues(tx, input.categoryId, input.baseAttributeValueIds ?? [], "BASE", "baseAttributeValueIds");
      const spu = await tx.spu.create({
        data: {
          title,
          subtitle: input.subtitle ?? null,
          description: input.description ?? null,
          images: this.images(input.images, "images"),
          categoryId: input.categoryId,
          brandId: input.brandId ?? null,
        },
      });
      if (base.length) await tx.spuAttributeValue.createMany({ data: base.map((v) => ({ spuId: spu.id, attributeValueId: v.id })) });
      let sort = 0;
      for (const s of input.skus ?? []) await this.addSkuTx(tx, spu, s, sort++);
      return spu.id;
    });
    return (await this.loadProducts([id]))[0]!;
  }

  async update(id: string, input: ProductUpdate): Promise<ProductView> {
    await this.tx(async (tx) => {
      const spu = await tx.spu.findUnique({ where: { id } });
      if (!spu) throw notFound("product", id);
      if (input.brandId && !(await tx.brand.findUnique({ where: { id: input.brandId } }))) throw notFound("brand", input.brandId);
      await tx.spu.update({
        where: { id },
        data: {
          title: input.title == null ? undefined : assertText(input.title, "title", 300),
          subtitle: input.subtitle === undefined ? undefined : input.subtitle,
          description: input.description === undefined ? undefined : input.description,
          images: input.images == null ? undefined : this.images(input.images, "images"),
          brandId: input.brandId === undefined ? undefined : input.brandId,
        },
      });
      if (input.baseAttributeValueIds) {
        const base = await this.checkAttributeValues(tx, spu.categoryId, input.baseAttributeValueIds, "BASE", "baseAttributeValueIds");
        await tx.spuAttributeValue.deleteMany({ where: { spuId: id } });
        await tx.spuAttributeValue.createMany({ data: base.map((v) => ({ spuId: id, attributeValueId: v.id })) });
      }
      await touchSearch(tx, [id]);
      await this.cache.invalidate([id]);
    });
    await this.cache.invalidate([id]);
    return (await this.loadProducts([id]))[0]!;
  }

  async addSku(spuId: string, input: SkuInput): Promise<SkuView> {
    const skuId = await this.tx(async (tx) => {
      // the SPU row lock serializes SKU additions: sale-attribute combination and currency checks hold under concurrency
      await tx.$queryRaw`SELECT 1 FROM "Spu" WHERE "id" = ${spuId} FOR UPDATE`;
      const spu = await tx.spu.findUnique({ where: { id: spuId } });
      if (!spu) throw notFound("product", spuId);
      const n = await tx.sku.count({ where: { spuId } });
      return this.addSkuTx(tx, spu, input, n);
    });
    await this.cache.invalidate([spuId]);
    await this.live.bumpAfterCommit([spuId]);
    return (await this.loadSkus([skuId]))[0]!;
  }

  async updateSku(id: string, input: SkuUpdate): Promise<SkuView> {
    await this.tx(async (tx) => {
      const sku = await tx.sku.findUnique({ where: { id } });
      if (!sku) throw notFound("SKU", id);
      const currency = input.currency == null ? sku.currency : assertText(input.currency, "currency", 8);
      const price = input.price == null ? undefined : skuPrice(input.price, currency);
      if (input.currency != null && input.price == null) parseAmount(formatAmount(sku.price, sku.currency), currency, { field: "price", allowZero: true });
      if (currency !== sku.currency) await tx.$queryRaw`SELECT 1 FROM "Spu" WHERE "id" = ${sku.spuId} FOR UPDATE`;
      if (currency !== sku.currency && (await tx.sku.count({ where: { spuId: sku.spuId, id: { not: id }, currency: { not: currency } } })))
        throw refuse(Reason.CURRENCY_MISMATCH, `the other SKUs of this product are priced in ${sku.currency}`, { field: "currency" });
      await tx.sku.update({
        where: { id },
        data: {
          title: input.title == null ? undefined : assertText(input.title, "title", 300),
          price,
          currency,
          images: input.images == null ? undefined : this.images(input.images, "images"),
        },
      });
      await touchSearch(tx, [sku.spuId]);
      await this.cache.invalidate([sku.spuId]);
      return sku.spuId;
    }).then((spuId) => this.cache.invalidate([spuId]));
    return (await this.loadSkus([id]))[0]!;
  }

  async putOnShelf(id: string): Promise<ProductView> {
    await this.tx(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ status: SpuStatus }>>`SELECT "status"::text AS status FROM "Spu" WHERE "id" = ${id} FOR UPDATE`;
      if (!rows.length) throw notFound("product", id);
      if (rows[0]!.status === "ON_SHELF") return;
      if (!(await tx.sku.count({ where: { spuId: id } }))) throw invalidState(Reason.PRODUCT_HAS_NO_SKU, "a product without SKUs cannot go on shelf");
      await tx.spu.update({ where: { id }, data: { status: "ON_SHELF", onShelfAt: new Date() } });
      await touchSearch(tx, [id]);
      await this.live.bump([id]);
    });
    await this.live.bumpAfterCommit([id]);
    return (await this.loadProducts([id]))[0]!;
  }

  async takeOffShelf(id: string): Promise<ProductView> {
    await this.tx(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ status: SpuStatus }>>`SELECT "status"::text AS status FROM "Spu" WHERE "id" = ${id} FOR UPDATE`;
      if (!rows.length) throw notFound("product", id);
      const status = rows[0]!.status;
      if (status === "OFF_SHELF") return;
      if (status !== "ON_SHELF") throw invalidState(Reason.INVALID_TRANSITION, `a ${status} product cannot be taken off shelf`);
      await tx.spu.update({ where: { id }, data: { status: "OFF_SHELF" } });
      await touchSearch(tx, [id]);
      await this.live.bump([id]);
    });
    await this.live.bumpAfterCommit([id]);
    return (await this.loadProducts([id]))[0]!;
  }
}
