/**
 * One test environment for the order subgraph: a throwaway PostgreSQL schema, a random Redis
 * prefix, the REAL cart and promotion subgraphs (promotion on its own throwaway schema: prices
 * with promotions are its pricing function's), small real catalog / member / payment stand-ins
 * (fakes.ts), and the order subgraph wired to them through the config's <DOMAIN>_URL overrides.
 */
import { internalFields, type BaseContext } from "@mallgraph/platform/access";
import type { Identity } from "@mallgraph/platform/auth";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { createCartSubgraph } from "../../../cart/src/index.ts";
import { createPromotionSubgraph } from "../../../promotion/src/index.ts";
import { createOrderSubgraph, type OrderSubgraphOptions } from "../../src/index.ts";
import { startFakeCatalog, startFakeMember, gql, member, type FakeCatalog, type FakeMember } from "./fakes.ts";

/** The fake's caller table (the real subgraph's names more callers). */
const asInternal = internalFields({ refundOrderPayment: ["order"] });

export interface FakePayment extends RunningSubgraph {
  refunds: Array<{ orderId: string; amount: string; reason: string; reference: string }>;
}

export async function startFakePayment(secret: string): Promise<FakePayment> {
  const refunds: FakePayment["refunds"] = [];
  const sdl = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type RefundResult { code: String! }
type Query { paymentHealth: Boolean }
type Mutation { refundOrderPayment(orderId: ID!, amount: String!, reason: String!, reference: String!): RefundResult! }`;
  const resolvers = {
    Mutation: {
      refundOrderPayment: asInternal("refundOrderPayment", (_p: unknown, a: FakePayment["refunds"][number]) => {
        if (!refunds.some((r) => r.reference === a.reference)) refunds.push({ ...a });
        return { code: "OK" };
      }),
    },
  };
  const running = await startSubgraph<BaseContext>({
    name: "fake-payment",
    typeDefs: sdl,
    resolvers,
    port: 0,
    internalSecret: secret,
    context: (b) => b,
  });
  return { ...running, refunds };
}

export interface OrderEnv {
  config: Config;
  db: TestSchema;
  redis: TestRedis;
  catalog: FakeCatalog;
  memberSg: FakeMember;
  payment: FakePayment;
  cart: Awaited<ReturnType<typeof createCartSubgraph>>;
  promotion: Awaited<ReturnType<typeof createPromotionSubgraph>>;
  order: Awaited<ReturnType<typeof createOrderSubgraph>>;
  /** Calls the order subgraph as `who` (a member id) or an identity. */
  call<T = any>(query: string, variables?: Record<string, unknown>, who?: string | Identity): Promise<{ data?: T; errors?: any[] }>;
  callCart<T = any>(query: string, variables?: Record<string, unknown>, who?: string): Promise<{ data?: T; errors?: any[] }>;
  stop(): Promise<void>;
}

export async function startOrderEnv(env: Record<string, string> = {}, opts: Partial<OrderSubgraphOptions> = {}): Promise<OrderEnv> {
  const db = await createTestSchema("order");
  const promotionDb = await createTestSchema("promotion");
  const redis = createTestRedis();
  const base = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, ...env } as any);
  const secret = base.INTERNAL_SECRET;
  const catalog = await startFakeCatalog(secret);
  const memberSg = await startFakeMember(secret);
  const payment = await startFakePayment(secret);
  const promotion = await createPromotionSubgraph({ config: { ...base, CATALOG_URL: catalog.url }, databaseUrl: promotionDb.url, port: 0 });
  const cart = await createCartSubgraph({ config: { ...base, CATALOG_URL: catalog.url, PROMOTION_URL: promotion.url }, port: 0 });
  const config: Config = {
    ...base,
    CATALOG_URL: catalog.url,
    MEMBER_URL: memberSg.url,
    CART_URL: cart.url,
    PAYMENT_URL: payment.url,
    PROMOTION_URL: promotion.url,
  };
  const order = await createOrderSubgraph({ config, databaseUrl: db.url, port: 0, ...opts });
  return {
    config,
    db,
    redis,
    catalog,
    memberSg,
    payment,
    cart,
    promotion,
    order,
    call: (q, v = {}, who) => gql(order.url, secret, q, v, typeof who === "string" ? member(who) : who),
    callCart: (q, v = {}, who) => gql(cart.url, secret, q, v, who ? member(who) : undefined),
    async stop() {
      await order.stop();
      await cart.stop();
      await promotion.stop();
      await Promise.all([catalog.stop(), memberSg.stop(), payment.stop()]);
      await closeQueueConnections();
      await redis.cleanup();
      await Promise.all([db.drop(), promotionDb.drop()]);
    },
  };
}

export const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { code message failedSkuId order { id orderNo status payable currency itemsTotal items { sku { id } skuId title quantity price subtotal } } } }`;
export const ORDER = `query($id: ID!) { order(id: $id) { id orderNo status payable currency items { sku { id } quantity price } } }`;
export const CANCEL = `mutation($id: ID!) { cancelOrder(id: $id) { code order { id status } } }`;
export const MARK_PAID = `mutation($o: ID!, $p: ID!, $c: String!) { orderMarkPaid(orderId: $o, paymentId: $p, channel: $c) { code status } }`;

export { waitFor } from "@mallgraph/platform/testing";
