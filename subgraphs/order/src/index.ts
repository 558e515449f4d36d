/**
 * The order subgraph. `createOrderSubgraph` is what tests call (throwaway schema, random Redis
 * prefix, other domains' URLs through the config's <DOMAIN>_URL overrides); running this file
 * directly starts it with the environment's configuration. Its jobs run in src/worker.ts.
 */
import { readFileSync } from "node:fs";
import { auditedPrisma, outboxAuditSink } from "@mallgraph/platform/audit";
import { serviceKeys } from "@mallgraph/platform/auth";
import { loadConfig, databaseUrlOf, subgraphUrl, type Config } from "@mallgraph/platform/config";
import { defineSubgraph } from "@mallgraph/platform/define-subgraph";
import { logger } from "@mallgraph/platform/log";
import { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import type { PgSql } from "@mallgraph/platform/pg-sql";
import { runtimeDb } from "@mallgraph/platform/prisma";
import { createQueue, QueueName } from "@mallgraph/platform/queue";
import { createRedis } from "@mallgraph/platform/redis";
import { runSubgraphMain } from "@mallgraph/platform/subgraph";
import { WorkflowRunner, type WorkflowRunnerOptions } from "@mallgraph/platform/workflow";
import { createContext } from "./context.ts";
import { PrismaClient } from "./generated/prisma/client.ts";
import { resolvers } from "./resolvers/index.ts";
import type { OrderServices } from "./services/index.ts";
import { orderNoGenerator, orderNosGenerator } from "./services/orderNo.ts";
import { OrderService } from "./services/orders.ts";
import {
  cartPort,
  catalogPort,
  memberPort,
  paymentPort,
  promotionPort,
  type CartPort,
  type CatalogPort,
  type MemberPort,
  type PaymentPort,
  type PromotionPort,
} from "./services/ports.ts";
import { placeOrderWorkflow } from "./workflows/placeOrder.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface OrderSubgraphOptions {
  config: Config;
  /** Database URL with ?schema=; defaults to ORDER_DATABASE_URL (else DATABASE_URL) with schema "order". */
  databaseUrl?: string;
  port?: number;
  /** Replace a port to another domain (default: its subgraph at subgraphUrl(config, domain)). */
  ports?: Partial<{ catalog: CatalogPort; member: MemberPort; cart: CartPort; promotion: PromotionPort; payment: PaymentPort }>;
  /** The workflow runner's lease, retry budget and backoff (tests shorten them). */
  workflow?: Pick<WorkflowRunnerOptions<PgSql>, "leaseMs" | "maxAttempts" | "backoffMs">;
}

export function createOrderServices(opts: OrderSubgraphOptions): OrderServices {
  const { config } = opts;
  const log = logger("order");
  // placement's statements go to the same pool as plain SQL (decision 0035)
  const db = runtimeDb(opts.databaseUrl ?? databaseUrlOf(config, "order"));
  const { prisma, log: audit } = auditedPrisma(new PrismaClient({ adapter: db.adapter }), "order", outboxAuditSink);
  const redis = createRedis(config.REDIS_URL);
  const secret = serviceKeys(config);
  const catalog = opts.ports?.catalog ?? catalogPort(subgraphUrl(config, "catalog"), secret);
  const member = opts.ports?.member ?? memberPort(subgraphUrl(config, "member"), secret, { redis, prefix: config.REDIS_PREFIX });
  const cart = opts.ports?.cart ?? cartPort(subgraphUrl(config, "cart"), secret);
  const payment = opts.ports?.payment ?? paymentPort(subgraphUrl(config, "payment"), secret);
  const promotion = opts.ports?.promotion ?? promotionPort(subgraphUrl(config, "promotion"), secret);
  const q = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const timeouts = createQueue(q, QueueName.orderTimeouts);
  const followUps = createQueue(q, QueueName.orderFollowUps);
  const jobQueues = outboxQueues(q, [QueueName.memberMessages, QueueName.auditEntries, QueueName.orderEvents], {
    [QueueName.orderEvents]: { attempts: 10, backoff: { type: "exponential", delay: 500 } },
  });
  // order-events takes publish-events jobs: a relay run's status events go out as one job (decision 0046)
  const jobs = new OutboxRelay({ db: db.sql, queue: jobQueues.queue, log, mergeLiveEvents: [QueueName.orderEvents] });
  const nextOrderNo = orderNoGenerator(redis, config.REDIS_PREFIX);
  const nextOrderNos = orderNosGenerator(redis, config.REDIS_PREFIX);
  const hooks = {};
  const workflows = new WorkflowRunner<PgSql>({
    domain: "order",
    db: db.sql,
    log,
    redis,
    redisPrefix: config.REDIS_PREFIX,
    ...opts.workflow,
  });
  const placeOrder = workflows.register(placeOrderWorkflow({ prisma, catalog, cart, promotion, nextOrderNo, log }));
  const orders = new OrderService({
    prisma,
    sql: db.sql,
    redis,
    prefix: config.REDIS_PREFIX,
    paymentTimeoutSeconds: config.ORDER_PAYMENT_TIMEOUT_SECONDS,
    seckillPaymentTimeoutSeconds: config.SECKILL_PAYMENT_TIMEOUT_SECONDS,
    catalog,
    member,
    cart,
    promotion,
    payment,
    jobs,
    timeouts,
    followUps,
    nextOrderNo,
    nextOrderNos,
    workflows,
    placeOrderWorkflow: placeOrder,
    log,
    hooks,
  });
  return {
    prisma,
    sql: db.sql,
    endSql: db.end,
    audit,
    redis,
    catalog,
    member,
    cart,
    promotion,
    payment,
    jobs,
    jobQueues,
    orders,
    timeouts,
    followUps,
    nextOrderNo,
    nextOrderNos,
    workflows,
    hooks,
  };
}

export async function closeOrderServices(s: OrderServices): Promise<void> {
  await Promise.all([s.timeouts.close(), s.followUps.close(), s.jobQueues.close()]);
  s.redis.disconnect();
  await s.prisma.$disconnect();
  await s.endSql();
}

export const createOrderSubgraph = defineSubgraph({
  name: "order",
  typeDefs,
  resolvers,
  services: createOrderServices,
  close: closeOrderServices,
  context: (base, services) => createContext(base, services),
  // the compiled fast path (decision 0010) for every placement the gateway forwards; no resolver of
  // order revokes a session (decision 0046)
  server: { fastPath: true, revokesSessions: false },
});

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("order", () => createOrderSubgraph({ config: loadConfig() }));
