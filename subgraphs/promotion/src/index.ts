/**
 * The promotion subgraph (seckill). `createPromotionSubgraph` is what tests call (throwaway schema,
 * random Redis prefix, other domains' URLs through the config's <DOMAIN>_URL overrides); running
 * this file directly starts it with the environment's configuration. Its jobs run in src/worker.ts.
 */
import { readFileSync } from "node:fs";
import { auditedPrisma, outboxAuditSink } from "@mallgraph/platform/audit";
import { serviceKeys } from "@mallgraph/platform/auth";
import { loadConfig, databaseUrlOf, subgraphUrl, type Config } from "@mallgraph/platform/config";
import { defineSubgraph } from "@mallgraph/platform/define-subgraph";
import { logger } from "@mallgraph/platform/log";
import { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import { runtimeDb } from "@mallgraph/platform/prisma";
import { createQueue, QueueName } from "@mallgraph/platform/queue";
import { createRedis } from "@mallgraph/platform/redis";
import { runSubgraphMain } from "@mallgraph/platform/subgraph";
import { WorkflowRunner, type WorkflowRunnerOptions } from "@mallgraph/platform/workflow";
import { createContext } from "./context.ts";
import { PrismaClient, type Prisma } from "./generated/prisma/client.ts";
import { resolvers } from "./resolvers/index.ts";
import { CampaignService } from "./services/campaigns.ts";
import { CouponExpiryNotices } from "./services/coupon-expiry.ts";
import { CouponTemplateService } from "./services/coupon-templates.ts";
import { CouponService } from "./services/coupons.ts";
import type { PromotionServices } from "./services/index.ts";
import { catalogPort, lotteryPort, orderPort, type CatalogPort, type LotteryPort, type OrderPort } from "./services/ports.ts";
import { PricingService } from "./services/quotes.ts";
import { SeckillService, type SeckillTestHooks } from "./services/seckill.ts";
import { createSessionWorkflow } from "./workflows/createSession.ts";

export const typeDefs = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");

export interface PromotionSubgraphOptions {
  config: Config;
  /** Database URL with ?schema=; defaults to PROMOTION_DATABASE_URL (else DATABASE_URL) with schema "promotion". */
  databaseUrl?: string;
  port?: number;
  ports?: Partial<{ catalog: CatalogPort; order: OrderPort; lottery: LotteryPort }>;
  onlineLeadMs?: number;
  pendingAfterMs?: number;
  holdAfterMs?: number;
  /** Pause between fencing a seckill item and reading it when it is reconciled (ms, default 1000). */
  reconcileGraceMs?: number;
  hooks?: SeckillTestHooks;
  /** The workflow runner's lease, retry budget and backoff (tests shorten them). */
  workflow?: Pick<WorkflowRunnerOptions<Prisma.TransactionClient>, "leaseMs" | "maxAttempts" | "backoffMs">;
}

export function createPromotionServices(opts: PromotionSubgraphOptions): PromotionServices {
  const { config } = opts;
  const log = logger("promotion");
  // Claim storms run many short interactive transactions: they wait for a pooled connection rather than fail after Prisma's 2 s default.
  // the seckill reservations' copy and the live campaigns every quote reads are plain SQL on the same pool (decisions 0035, 0036)
  const db = runtimeDb(opts.databaseUrl ?? databaseUrlOf(config, "promotion"));
  const { prisma, log: audit } = auditedPrisma(
    new PrismaClient({
      adapter: db.adapter,
      transactionOptions: { maxWait: 30_000, timeout: 15_000 },
    }),
    "promotion",
    outboxAuditSink,
  );
  const redis = createRedis(config.REDIS_URL);
  const catalog = opts.ports?.catalog ?? catalogPort(subgraphUrl(config, "catalog"), serviceKeys(config));
  const order = opts.ports?.order ?? orderPort(subgraphUrl(config, "order"), serviceKeys(config));
  const lottery = opts.ports?.lottery ?? lotteryPort(subgraphUrl(config, "lottery"), serviceKeys(config));
  const couponQueue = createQueue({ redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX }, QueueName.couponIssue, {
    attempts: 10,
  });
  const hooks: SeckillTestHooks = opts.hooks ?? {};
  const workflows = new WorkflowRunner<Prisma.TransactionClient>({
    domain: "promotion",
    db: prisma,
    log,
    redis,
    redisPrefix: config.REDIS_PREFIX,
    ...opts.workflow,
  });
  const seckill = new SeckillService({
    prisma,
    sql: db.sql,
    redis,
    prefix: config.REDIS_PREFIX,
    catalog,
    order,
    log,
    hooks,
    workflows,
    createSessionWorkflow: workflows.register(createSessionWorkflow({ prisma, catalog, log })),
    onlineLeadMs: opts.onlineLeadMs,
    pendingAfterMs: opts.pendingAfterMs,
    holdAfterMs: opts.holdAfterMs,
    reconcileGraceMs: opts.reconcileGraceMs,
    defaultShards: config.SECKILL_STOCK_SHARDS,
  });
  const coupons = new CouponService({ prisma });
  const couponTemplates = new CouponTemplateService({ prisma, catalog, lottery });
  const campaigns = new CampaignService({ prisma, sql: db.sql, catalog, versions: { redis, prefix: config.REDIS_PREFIX } });
  const pricing = new PricingService({ prisma, catalog, campaigns });
  const jobQueues = outboxQueues({ redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX }, [
    QueueName.memberMessages,
    QueueName.auditEntries,
  ]);
  const jobs = new OutboxRelay({ db: prisma, queue: jobQueues.queue, log });
  const couponExpiry = new CouponExpiryNotices({ prisma, relay: jobs });
  return {
    prisma,
    endSql: db.end,
    audit,
    redis,
    catalog,
    order,
    seckill,
    coupons,
    couponTemplates,
    campaigns,
    pricing,
    couponQueue,
    jobs,
    jobQueues,
    couponExpiry,
    workflows,
    hooks,
  };
}

export async function closePromotionServices(s: PromotionServices): Promise<void> {
  await Promise.all([s.couponQueue.close(), s.jobQueues.close()]);
  s.redis.disconnect();
  await s.prisma.$disconnect();
  await s.endSql();
}

export const createPromotionSubgraph = defineSubgraph({
  name: "promotion",
  typeDefs,
  resolvers,
  services: createPromotionServices,
  close: closePromotionServices,
  context: (base, services) => createContext(base, services),
  // seckillBuy and the other plain requests run compiled (decision 0010; 0037: the storm's hot path); no resolver here revokes sessions
  server: { fastPath: true, revokesSessions: false },
});

if (import.meta.url === `file://${process.argv[1]}`) runSubgraphMain("promotion", () => createPromotionSubgraph({ config: loadConfig() }));
