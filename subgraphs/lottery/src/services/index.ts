/** Builds the lottery domain's services from configuration (shared by the server and the worker). */
import { auditedPrisma, outboxAuditSink, type AuditLog } from "@mallgraph/platform/audit";
import { serviceKeys } from "@mallgraph/platform/auth";
import { databaseUrlOf, subgraphUrl, type Config } from "@mallgraph/platform/config";
import { logger } from "@mallgraph/platform/log";
import { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { createQueue, QueueName, type Queue } from "@mallgraph/platform/queue";
import { createRedis, type Redis } from "@mallgraph/platform/redis";
import { WorkflowRunner, type WorkflowHooks, type WorkflowRunnerOptions } from "@mallgraph/platform/workflow";
import { PrismaClient, type Prisma } from "../generated/prisma/client.ts";
import { AwardDelivery, type DeliveryBudget } from "./delivery.ts";
import { DrawService } from "./draws.ts";
import { PackService } from "./packs.ts";
import { PointsService } from "./points.ts";
import { memberWalletPort, orderPrizePort, promotionCouponPort, type CouponPort, type PrizeOrderPort, type WalletPort } from "./ports.ts";
import { RainService } from "./rain.ts";
import { LotteryReads } from "./reads.ts";
import { RebateService } from "./rebates.ts";
import { LotterySetup } from "./setup.ts";
import type { RandomInt } from "./split.ts";

export interface LotteryServiceOptions {
  config: Config;
  /** Database URL with ?schema=; defaults to LOTTERY_DATABASE_URL (else DATABASE_URL) with schema "lottery". */
  databaseUrl?: string;
  /** Member's subgraph (the marketing account); default from the configuration. */
  memberUrl?: string;
  wallet?: WalletPort;
  /** Promotion's subgraph (couponGrant) and order's (orderCreatePrize); default from the configuration. */
  promotionUrl?: string;
  orderUrl?: string;
  coupons?: CouponPort;
  prizes?: PrizeOrderPort;
  /** Award delivery retries (env LOTTERY_DELIVERY_ATTEMPTS, default 10; LOTTERY_DELIVERY_BACKOFF_MS, default 2000). */
  deliveryBudget?: DeliveryBudget;
  /** Coalescing window of red-envelope live events (ms, env LOTTERY_EVENT_WINDOW_MS, default 250). */
  eventWindowMs?: number;
  /** Points of the daily sign-in (env LOTTERY_SIGN_IN_POINTS, default 10). */
  signInPoints?: number;
  random?: RandomInt;
  /** Pause between fencing a rain and reading it when it is reconciled (ms, default 1000). */
  reconcileGraceMs?: number;
  /** Clock (tests move time). */
  now?: () => number;
  /** The workflow runner's lease, retry budget and backoff (tests shorten them). */
  workflow?: Pick<WorkflowRunnerOptions<Prisma.TransactionClient>, "leaseMs" | "maxAttempts" | "backoffMs">;
}

export interface LotteryServices {
  prisma: PrismaClient;
  /** The operator audit trail: entries go to the outbox, relayed to member's trail (decision 0024). */
  audit: AuditLog;
  redis: Redis;
  rain: RainService;
  /** Durable workflows (red-envelope rain creation): the worker sweeps them (`workflows.start`). */
  workflows: WorkflowRunner<Prisma.TransactionClient>;
  /** Tests only: the rain creation workflow's step hooks (mutable). */
  hooks: { createRain?: WorkflowHooks };
  draws: DrawService;
  delivery: AwardDelivery;
  points: PointsService;
  rebates: RebateService;
  packs: PackService;
  /** Strategies, activities, the blacklist and the switches (the admin mutations and the seed). */
  setup: LotterySetup;
  /** Plain reads for the resolvers (lists and lookups). */
  reads: LotteryReads;
  queues: { rain: Queue; awards: Queue };
  /** The job outbox (member messages) and its relay; the worker runs the relay every second (no flush per grab: rain storms). */
  jobs: OutboxRelay;
  close(): Promise<void>;
}

export function createLotteryServices(opts: LotteryServiceOptions): LotteryServices {
  const { config } = opts;
  const env = process.env;
  // Interactive transactions (participation orders) may queue for a pooled connection under a storm.
  const { prisma, log: audit } = auditedPrisma(
    new PrismaClient({
      adapter: runtimeAdapter(opts.databaseUrl ?? databaseUrlOf(config, "lottery")),
      transactionOptions: { maxWait: 30_000, timeout: 15_000 },
    }),
    "lottery",
    outboxAuditSink,
  );
  const redis = createRedis(config.REDIS_URL);
  const q = { redisUrl: config.REDIS_URL, redisPrefix: config.REDIS_PREFIX };
  const queues = { rain: createQueue(q, QueueName.lotteryRain), awards: createQueue(q, QueueName.lotteryAwards) };
  const log = logger("lottery");
  const wallet = opts.wallet ?? memberWalletPort({ url: opts.memberUrl ?? subgraphUrl(config, "member"), secret: serviceKeys(config) });
  const points = new PointsService(prisma);
  const jobQueues = outboxQueues(q, [QueueName.memberMessages, QueueName.auditEntries]);
  const jobs = new OutboxRelay({ db: prisma, queue: jobQueues.queue, log });
  const workflows = new WorkflowRunner<Prisma.TransactionClient>({
    domain: "lottery",
    db: prisma,
    log,
    redis,
    redisPrefix: config.REDIS_PREFIX,
    ...opts.workflow,
  });
  const hooks: LotteryServices["hooks"] = {};
  const rain = new RainService({
    workflows,
    hooks,
    prisma,
    redis,
    redisPrefix: config.REDIS_PREFIX,
    queue: queues.rain,
    wallet,
    log,
    eventWindowMs: opts.eventWindowMs ?? Number(env.LOTTERY_EVENT_WINDOW_MS ?? 250),
    random: opts.random,
    reconcileGraceMs: opts.reconcileGraceMs,
    now: opts.now,
  });
  const ports = { url: "", secret: serviceKeys(config) };
  const delivery = new AwardDelivery({
    prisma,
    queue: queues.awards,
    points,
    coupons: opts.coupons ?? promotionCouponPort({ ...ports, url: opts.promotionUrl ?? subgraphUrl(config, "promotion") }),
    prizes: opts.prizes ?? orderPrizePort({ ...ports, url: opts.orderUrl ?? subgraphUrl(config, "order") }),
    budget: opts.deliveryBudget ?? {
      attempts: Number(env.LOTTERY_DELIVERY_ATTEMPTS ?? 10),
      backoffMs: Number(env.LOTTERY_DELIVERY_BACKOFF_MS ?? 2000),
    },
    log,
    now: opts.now ?? Date.now,
  });
  const draws = new DrawService({
    prisma,
    redis,
    redisPrefix: config.REDIS_PREFIX,
    queue: queues.awards,
    points,
    delivery,
    secret: config.INTERNAL_SECRET,
    log,
    now: opts.now,
  });
  const rebates = new RebateService(prisma, points, draws, {
    signInPoints: opts.signInPoints ?? Number(env.LOTTERY_SIGN_IN_POINTS ?? 10),
    now: opts.now,
  });
  return {
    prisma,
    audit,
    redis,
    rain,
    workflows,
    hooks,
    draws,
    delivery,
    points,
    rebates,
    packs: new PackService(prisma, points, draws),
    setup: new LotterySetup({ prisma, onStrategySaved: (id) => draws.disarm(id) }),
    reads: new LotteryReads(prisma),
    queues,
    jobs,
    async close() {
      await rain.flush();
      await Promise.all([...Object.values(queues).map((x) => x.close()), jobQueues.close()]);
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}
