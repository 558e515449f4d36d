/**
 * One test environment: the REAL catalog and order subgraphs (each on its own throwaway schema),
 * the REAL cart (Redis only), the promotion subgraph on a third schema, one random Redis prefix shared by all (as in production, one
 * deployment prefix), BullMQ on real Redis. No mocks.
 */
import http from "node:http";
import { signIdentity, type Identity } from "@mallgraph/platform/auth";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { createCartSubgraph } from "../../../cart/src/index.ts";
import { promotionPort as cartPromotionPort } from "../../../cart/src/services/ports.ts";
import { createCatalogSubgraph } from "../../../catalog/src/index.ts";
import { smallCatalog } from "../../../catalog/test/helpers.ts";
import { createOrderSubgraph } from "../../../order/src/index.ts";
import { promotionPort, type PromotionPort } from "../../../order/src/services/ports.ts";
import { startFakeMember, type FakeMember } from "../../../order/test/support/fakes.ts";
import { createPromotionSubgraph, type PromotionSubgraphOptions } from "../../src/index.ts";
import { startWorkers, type PromotionWorkerOptions } from "../../src/worker.ts";

export const member = (id: string): Identity => ({ kind: "member", id, sessionId: `s-${id}` });
export const admin = (permissions: string[] = ["promotion:write"]): Identity => ({ kind: "admin", id: "op-1", permissions });

export type Gql = <T = any>(
  query: string,
  variables?: Record<string, unknown>,
  who?: string | Identity,
) => Promise<{ data?: T; errors?: Array<{ message: string; extensions?: Record<string, any> }> }>;

export interface PromotionEnv {
  config: Config;
  redis: TestRedis;
  dbs: TestSchema[];
  catalog: Awaited<ReturnType<typeof createCatalogSubgraph>>;
  order: Awaited<ReturnType<typeof createOrderSubgraph>>;
  cart: Awaited<ReturnType<typeof createCartSubgraph>>;
  /** member stand-in of the order tests (addresses), a small real subgraph */
  memberSg: FakeMember;
  promotion: Awaited<ReturnType<typeof createPromotionSubgraph>>;
  call: Gql;
  callOrder: Gql;
  callCart: Gql;
  /** The small catalog (root > mid > leaf, one product on shelf). */
  cat: Awaited<ReturnType<typeof smallCatalog>>;
  /** A new on-shelf SKU with `stock` in catalog. */
  newSku(stock: number, price?: string): Promise<string>;
  /** A new SPU on shelf with one SKU (default: in the small catalog's leaf, CNY, stock 100). */
  newSpu(o?: { price?: string; currency?: string; categoryId?: string; stock?: number }): Promise<{ spuId: string; skuId: string }>;
  /** A new root > mid > leaf category path. */
  newCategories(name: string): Promise<{ root: string; mid: string; leaf: string }>;
  stock(skuId: string): Promise<{ available: number; reserved: number; sold: number }>;
  /** Creates a session through the API (admin) and returns its id. */
  createSession(
    items: Array<{ skuId: string; seckillPrice?: string; stock: number; perUserLimit: number; shards?: number }>,
    opts?: { startsAt?: Date; endsAt?: Date },
  ): Promise<string>;
  startWorkers(opts?: PromotionWorkerOptions): Promise<() => Promise<void>>;
  stop(): Promise<void>;
}

/** Keep-alive connections (at most 64 per subgraph): thousands of parallel calls queue on the client, not in the server's listen backlog. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function clientFor(url: string, secret: string): Gql {
  return (query, variables = {}, who) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      const identity = typeof who === "string" ? member(who) : who;
      if (identity) headers["x-mg-identity"] = signIdentity(secret, identity);
      const req = http.request(url, { method: "POST", headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch (e) {
            reject(e);
          }
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(JSON.stringify({ query, variables }));
    });
}

export const CREATE_SESSION = `mutation($input: SeckillSessionInput!) { adminCreateSeckillSession(input: $input) { id status startsAt endsAt items { skuId seckillPrice currency stock remaining perUserLimit } } }`;
export const BUY = `mutation($s: ID!, $k: ID!, $q: Int!, $i: String!) { seckillBuy(sessionId: $s, skuId: $k, quantity: $q, idempotencyKey: $i) { code reservationId } }`;
export const RESERVATION = `query($id: ID!) { seckillReservation(id: $id) { id status quantity order { id } } }`;
export const SESSIONS = `query { seckillSessions { id title status startsAt endsAt items { skuId seckillPrice remaining } } }`;

export async function startPromotionEnv(opts: Partial<PromotionSubgraphOptions> = {}): Promise<PromotionEnv> {
  const redis = createTestRedis();
  const dbs = await Promise.all([createTestSchema("catalog"), createTestSchema("order"), createTestSchema("promotion")]);
  const [catalogDb, orderDb, promotionDb] = dbs as [TestSchema, TestSchema, TestSchema];
  const base = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, NODE_ENV: "test", LOG_LEVEL: "error" } as any);
  const catalog = await createCatalogSubgraph({ config: base, databaseUrl: catalogDb.url, port: 0 });
  const memberSg = await startFakeMember(base.INTERNAL_SECRET);
  // order calls promotion (coupons) and promotion calls order (seckill orders): order gets a port
  // that reaches the promotion subgraph once it listens (`promo`, declared below, is read only when called).
  const lazyPromotion: PromotionPort = {
    price: (...a) => promo.price(...a),
    lockCoupon: (...a) => promo.lockCoupon(...a),
    releaseCoupon: (o) => promo.releaseCoupon(o),
    consumeCoupon: (o) => promo.consumeCoupon(o),
  };
  const cart = await createCartSubgraph({
    config: { ...base, CATALOG_URL: catalog.url },
    port: 0,
    promotion: { price: (a) => cartPromo.price(a) },
  });
  const order = await createOrderSubgraph({
    config: { ...base, CATALOG_URL: catalog.url, MEMBER_URL: memberSg.url, CART_URL: cart.url },
    databaseUrl: orderDb.url,
    port: 0,
    ports: { promotion: lazyPromotion },
  });
  const config: Config = { ...base, CATALOG_URL: catalog.url, ORDER_URL: order.url, CART_URL: cart.url };
  const promotion = await createPromotionSubgraph({ config, databaseUrl: promotionDb.url, port: 0, ...opts });
  const promo = promotionPort(promotion.url, config.INTERNAL_SECRET);
  const cartPromo = cartPromotionPort(promotion.url, config.INTERNAL_SECRET);
  const cat = await smallCatalog(catalog.services, { stock: 0, skus: 1 });
  let n = 0;
  const call = clientFor(promotion.url, config.INTERNAL_SECRET);
  const stoppers: Array<() => Promise<void>> = [];
  const env: PromotionEnv = {
    config,
    redis,
    dbs,
    catalog,
    order,
    cart,
    memberSg,
    promotion,
    call,
    callOrder: clientFor(order.url, config.INTERNAL_SECRET),
    callCart: clientFor(cart.url, config.INTERNAL_SECRET),
    cat,
    async newSpu(o = {}) {
      const code = `SPU-${n++}`;
      const p = await catalog.services.products.create({
        title: `Product ${code}`,
        categoryId: o.categoryId ?? cat.leaf.id,
        skus: [{ code, title: code, price: o.price ?? "100.00", currency: o.currency ?? "CNY", initialStock: o.stock ?? 100 }],
      });
      await catalog.services.products.putOnShelf(p.id);
      return { spuId: p.id, skuId: p.skus[0]!.id };
    },
    async newCategories(name) {
      const root = await catalog.services.categories.create({ name: `${name} root` });
      const mid = await catalog.services.categories.create({ name: `${name} mid`, parentId: root.id });
      const leaf = await catalog.services.categories.create({ name: `${name} leaf`, parentId: mid.id });
      return { root: root.id, mid: mid.id, leaf: leaf.id };
    },
    async newSku(stock, price = "100.00") {
      const s = await catalog.services.products.addSku(cat.product.id, {
        code: `SK-${n++}`,
        title: `Seckill SKU ${n}`,
        price,
        currency: "CNY",
        initialStock: stock,
      });
      return s.id;
    },
    stock: (skuId) => catalog.services.inventory.stock(skuId),
    async createSession(items, o = {}) {
      const startsAt = o.startsAt ?? new Date(Date.now() - 1000);
      const endsAt = o.endsAt ?? new Date(Date.now() + 3600_000);
      const r = await call(
        CREATE_SESSION,
        {
          input: {
            title: "Flash",
            startsAt: startsAt.toISOString(),
            endsAt: endsAt.toISOString(),
            items: items.map((i) => ({ seckillPrice: "9.90", ...i })),
          },
        },
        admin(),
      );
      if (r.errors?.length) throw new Error(JSON.stringify(r.errors));
      return r.data.adminCreateSeckillSession.id;
    },
    async startWorkers(wo = {}) {
      const stop = await startWorkers(config, { databaseUrl: promotionDb.url, ...wo });
      let stopped = false;
      const once = async () => {
        if (stopped) return;
        stopped = true;
        await stop();
      };
      stoppers.push(once);
      return once;
    },
    async stop() {
      for (const s of stoppers) await s().catch(() => undefined);
      await promotion.stop();
      await order.stop();
      await cart.stop();
      await memberSg.stop();
      await catalog.stop();
      await closeQueueConnections();
      await redis.cleanup();
      await Promise.all(dbs.map((d) => d.drop()));
    },
  };
  return env;
}

export { waitFor } from "@mallgraph/platform/testing";
