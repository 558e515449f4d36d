import type { AuditLog } from "@mallgraph/platform/audit";
import type { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import type { Redis } from "@mallgraph/platform/redis";
import type { WorkflowRunner } from "@mallgraph/platform/workflow";
import type { Queue } from "bullmq";
import type { Prisma, PrismaClient } from "../generated/prisma/client.ts";
import type { CampaignService } from "./campaigns.ts";
import type { CouponExpiryNotices } from "./coupon-expiry.ts";
import type { CouponTemplateService } from "./coupon-templates.ts";
import type { CouponService } from "./coupons.ts";
import type { CatalogPort, OrderPort } from "./ports.ts";
import type { PricingService } from "./quotes.ts";
import type { SeckillService, SeckillTestHooks } from "./seckill.ts";

export interface PromotionServices {
  prisma: PrismaClient;
  /** Closes the pool the Prisma client shares with plain SQL (after its $disconnect). */
  endSql: () => Promise<void>;
  /** The operator audit trail: entries go to the outbox, relayed to member's trail (decision 0024). */
  audit: AuditLog;
  redis: Redis;
  catalog: CatalogPort;
  order: OrderPort;
  seckill: SeckillService;
  coupons: CouponService;
  couponTemplates: CouponTemplateService;
  campaigns: CampaignService;
  pricing: PricingService;
  /** `coupon-issue` (scheduled issuance jobs). */
  couponQueue: Queue;
  /** The job outbox (member messages) and its relay; the worker runs the relay periodically. */
  jobs: OutboxRelay;
  jobQueues: ReturnType<typeof outboxQueues>;
  couponExpiry: CouponExpiryNotices;
  /** Durable workflows (seckill session creation): the worker sweeps them (`workflows.start`). */
  workflows: WorkflowRunner<Prisma.TransactionClient>;
  /** Test-only failure injection (mutable). */
  hooks: SeckillTestHooks;
}
