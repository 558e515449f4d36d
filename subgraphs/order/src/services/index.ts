import type { AuditLog } from "@mallgraph/platform/audit";
import type { OutboxRelay, outboxQueues } from "@mallgraph/platform/outbox";
import type { PgDb, PgSql } from "@mallgraph/platform/pg-sql";
import type { Redis } from "@mallgraph/platform/redis";
import type { WorkflowRunner } from "@mallgraph/platform/workflow";
import type { Queue } from "bullmq";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { OrderService } from "./orders.ts";
import type { CartPort, CatalogPort, MemberPort, PaymentPort, PromotionPort } from "./ports.ts";
import type { OrderTestHooks } from "./types.ts";

export interface OrderServices {
  prisma: PrismaClient;
  /** Plain SQL on the Prisma client's pool: placement's statements (decision 0035). */
  sql: PgDb;
  /** Closes that pool (after the Prisma client's $disconnect). */
  endSql: () => Promise<void>;
  /** The operator audit trail: entries go to the outbox, relayed to member's trail (decision 0024). */
  audit: AuditLog;
  redis: Redis;
  catalog: CatalogPort;
  member: MemberPort;
  cart: CartPort;
  promotion: PromotionPort;
  payment: PaymentPort;
  /** The job outbox (status events, member messages, audit entries), relayed after each commit and every second by the worker. */
  jobs: OutboxRelay;
  jobQueues: ReturnType<typeof outboxQueues>;
  orders: OrderService;
  timeouts: Queue;
  followUps: Queue;
  nextOrderNo: (now?: Date) => Promise<string>;
  nextOrderNos: (count: number, now?: Date) => Promise<string[]>;
  /** Durable workflows (placeOrder): the worker sweeps them (`workflows.start`). */
  workflows: WorkflowRunner<PgSql>;
  /** Test-only failure injection (mutable). */
  hooks: OrderTestHooks;
}
