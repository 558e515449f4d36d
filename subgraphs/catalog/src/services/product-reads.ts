/**
 * Reading products: the batched loads behind product detail and the entities (static parts from the
 * versioned caches, live parts from one SQL statement per batch, whole views memoized in process)
 * and the SKU snapshots other domains read.
 */
import { isRedisError } from "@mallgraph/platform/redis";
import { Reason, refuse } from "../errors.ts";
import { Prisma, type SpuStatus } from "../generated/prisma/client.ts";
import type { CategoryService } from "./categories.ts";
import type { Deps } from "./deps.ts";
import { LiveVersions, LocalCache, VersionedCache } from "./product-cache.ts";
import { spuInclude, toStaticProduct, type ProductView, type SkuView, type StaticProduct } from "./product-views.ts";

type LiveRow = {
  spuId: string;
  status: SpuStatus;
  sales: number;
  onShelfAt: Date | string | null;
  skuId: string | null;
  available: number | null;
  reserved: number | null;
  sold: number | null;
};

/**
 * How long an in-process product view may be served while its versions stay put. Versions make
 * reads exact; this only bounds how long a change whose bump was lost (a process dying between
 * commit and bump) can go unseen — and it sets the miss rate of products read less often than this.
 */
const VIEW_TTL_MS = 60_000;

type Live = { status: SpuStatus; sales: number; onShelfAt: Date | null; stock: Map<string, SkuView["stock"]> };

export class ProductReads {
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
    protected readonly d: Deps,
    protected readonly categories: CategoryService,
  ) {
    this.cache = new VersionedCache<StaticProduct>(d, "product", (ids) => this.loadStatic(ids));
    this.live = new LiveVersions(d);
  }

  /** Static parts from PostgreSQL: one query (relation joins). */
  async loadStatic(ids: readonly string[]): Promise<Array<StaticProduct | null>> {
    const rows = await this.d.prisma.spu.findMany({
      relationLoadStrategy: "join",
      where: { id: { in: [...new Set(ids)] } },
      include: spuInclude,
    });
    const byId = new Map(rows.map((r) => [r.id, toStaticProduct(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** Live parts (status, sales, stock) of SPUs and their SKUs: one SQL statement. */
  private async loadLive(spuIds: string[]): Promise<Map<string, Live>> {
    const out = new Map<string, Live>();
    if (!spuIds.length) return out;
    const rows = await this.d.sql.$queryRawUnsafe<LiveRow[]>(
      `SELECT s."id" AS "spuId", s."status"::text AS "status", s."sales", s."onShelfAt", k."id" AS "skuId", i."available", i."reserved", i."sold"
       FROM "Spu" s LEFT JOIN "Sku" k ON k."spuId" = s."id" LEFT JOIN "Inventory" i ON i."skuId" = k."id"
       WHERE s."id" = ANY($1::text[])`,
      spuIds,
    );
    for (const r of rows) {
      let e = out.get(r.spuId);
      if (!e) {
        e = { status: r.status, sales: Number(r.sales), onShelfAt: r.onShelfAt ? new Date(r.onShelfAt) : null, stock: new Map() };
        out.set(r.spuId, e);
      }
      if (r.skuId)
        e.stock.set(r.skuId, { available: Number(r.available ?? 0), reserved: Number(r.reserved ?? 0), sold: Number(r.sold ?? 0) });
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
      versions = await this.d.redis.mget(
        this.categories.versionKey(),
        ...unique.flatMap((id) => [this.cache.versionKey(id), this.live.key(id)]),
      );
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
        skus: st.skus.map((k) => ({
          ...k,
          onShelf: lv.status === "ON_SHELF",
          stock: lv.stock.get(k.id) ?? { available: 0, reserved: 0, sold: 0 },
        })),
      };
    });
  }

  /** SKU views in the order of `ids` (null for unknown ids): the SKUs' SPUs (memoized), then the product load. */
  async loadSkus(ids: readonly string[]): Promise<Array<SkuView | null>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return [];
    const unknown = unique.filter((id) => !this.spuOfSku.has(id));
    if (unknown.length) {
      const rows = await this.d.prisma.$queryRaw<
        Array<{ id: string; spuId: string }>
      >`SELECT "id", "spuId" FROM "Sku" WHERE "id" IN (${Prisma.join(unknown)})`;
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
    const products = new Map(
      (await this.loadProducts([...new Set(skus.filter((k): k is SkuView => !!k).map((k) => k.spuId))]))
        .filter((p): p is ProductView => !!p)
        .map((p) => [p.id, p]),
    );
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
}
