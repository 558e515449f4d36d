/** Test harness: a catalog subgraph on a throwaway schema + Redis prefix, and GraphQL helpers. */
import { signIdentity, type Identity } from "@mallgraph/platform/auth";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { createCatalogSubgraph, type CatalogSubgraphOptions } from "../src/index.ts";
import type { CatalogServices } from "../src/services/index.ts";

export const ADMIN: Identity = { kind: "admin", id: "op-1", permissions: ["catalog:write", "catalog:read"] };
export const INTERNAL: Identity = { kind: "internal", service: "order" };
/** Promotion: the one service that gives seckill stock back (inventoryReturn). */
export const PROMOTION: Identity = { kind: "internal", service: "promotion" };
export const member = (id: string): Identity => ({ kind: "member", id });

export interface Harness {
  db: TestSchema;
  redis: TestRedis;
  config: Config;
  url: string;
  services: CatalogServices;
  gql: <T = any>(
    query: string,
    variables?: Record<string, unknown>,
    identity?: Identity,
  ) => Promise<{ data?: T; errors?: Array<{ message: string; extensions?: Record<string, any> }> }>;
  stop: () => Promise<void>;
}

export async function startHarness(opts: Partial<CatalogSubgraphOptions> = {}): Promise<Harness> {
  const db = await createTestSchema("catalog");
  const redis = createTestRedis();
  const config = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, NODE_ENV: "test" } as any);
  const sg = await createCatalogSubgraph({ config, databaseUrl: db.url, port: 0, ...opts });
  const gql: Harness["gql"] = async (query, variables, identity) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (identity) headers["x-mg-identity"] = signIdentity(config.INTERNAL_SECRET, identity);
    const res = await fetch(sg.url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    return (await res.json()) as any;
  };
  return {
    db,
    redis,
    config,
    url: sg.url,
    services: sg.services,
    gql,
    stop: async () => {
      await sg.stop();
      await closeQueueConnections();
      await redis.cleanup();
      await db.drop();
    },
  };
}

/** Data of a response; fails the test with the errors otherwise. */
export function ok<T>(r: { data?: T; errors?: unknown[] }): T {
  if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data as T;
}

export function errorCode(r: { errors?: Array<{ extensions?: Record<string, any> }> }): string | undefined {
  return r.errors?.[0]?.extensions?.code;
}
export function errorReason(r: { errors?: Array<{ extensions?: Record<string, any> }> }): string | undefined {
  return r.errors?.[0]?.extensions?.reason;
}

/** A small catalog: Phones > Mobile > Smartphones with colour/storage and a brand, one product on shelf. */
export async function smallCatalog(s: CatalogServices, opts: { stock?: number; skus?: number } = {}) {
  const root = await s.categories.create({ name: "手机数码 Phones & Digital" });
  const mid = await s.categories.create({ name: "手机通讯 Mobile", parentId: root.id });
  const leaf = await s.categories.create({ name: "手机 Smartphones", parentId: mid.id });
  const brand = await s.taxonomy.createBrand({ name: "华为 Huawei", logo: "https://img.example/huawei.png", categoryIds: [leaf.id] });
  const colour = await s.taxonomy.createAttribute({
    categoryId: leaf.id,
    name: "颜色 Colour",
    kind: "SALE",
    searchable: true,
    values: ["雅丹黑 Black", "白沙银 Silver"],
  });
  const storage = await s.taxonomy.createAttribute({
    categoryId: leaf.id,
    name: "存储 Storage",
    kind: "SALE",
    searchable: true,
    values: ["12GB+256GB", "12GB+512GB"],
  });
  const screen = await s.taxonomy.createAttribute({
    categoryId: leaf.id,
    name: "屏幕 Screen",
    kind: "BASE",
    searchable: true,
    values: ["6.8 inch"],
  });
  const combos = [
    [colour.values[0]!, storage.values[0]!],
    [colour.values[0]!, storage.values[1]!],
    [colour.values[1]!, storage.values[0]!],
    [colour.values[1]!, storage.values[1]!],
  ].slice(0, opts.skus ?? 2);
  const product = await s.products.create({
    title: "华为 Mate 60 Pro 智能手机 Huawei Mate 60 Pro Smartphone",
    categoryId: leaf.id,
    brandId: brand.id,
    images: ["https://img.example/mate60.jpg"],
    baseAttributeValueIds: [screen.values[0]!.id],
    skus: combos.map(([c, st], i) => ({
      code: `MATE60-${i}`,
      title: `Mate 60 Pro ${c.value} ${st.value}`,
      price: (6999 + i * 1000).toFixed(2),
      currency: "CNY",
      saleAttributeValueIds: [c.id, st.id],
      initialStock: opts.stock ?? 10,
    })),
  });
  await s.products.putOnShelf(product.id);
  return { root, mid, leaf, brand, colour, storage, screen, product: (await s.products.loadProducts([product.id]))[0]! };
}
