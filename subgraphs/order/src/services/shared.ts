/** What the order use cases share: their dependencies and the limits of an order. */
import { uniqueViolationTarget } from "@mallgraph/platform/db-errors";
import type { Logger } from "@mallgraph/platform/log";
import type { OutboxRelay } from "@mallgraph/platform/outbox";
import type { PgDb, PgSql } from "@mallgraph/platform/pg-sql";
import type { Redis } from "@mallgraph/platform/redis";
import type { WorkflowDefinition, WorkflowRunner } from "@mallgraph/platform/workflow";
import type { Queue } from "bullmq";
import type { Prisma, PrismaClient } from "../generated/prisma/client.ts";
import type { PlaceOrderState } from "../workflows/placeOrder.ts";
import type { CartPort, CatalogPort, MemberPort, PaymentPort, PromotionPort } from "./ports.ts";
import type { OrderTestHooks } from "./types.ts";

export const MAX_LINE_QUANTITY = 999;
export const MAX_LINES = 50;
/** Catalog keeps a reservation this much longer than the payment time-out, so our cancel job releases it first. */
export const RESERVATION_MARGIN_SECONDS = 600;

export type Tx = Prisma.TransactionClient;

/**
 * Inserts one order in a transaction (`write` with a fresh order number), taking another number when
 * it collides (at most 3 times). A unique violation on `idempotencyKey` or one of `dupTargets` means
 * the order exists already: `existing()` answers it (null: rethrow). Returns null once inserted.
 */
export async function insertOrder<T>(
  d: OrderServiceDeps,
  write: (tx: Tx, orderNo: string) => Promise<void>,
  existing: () => Promise<T | null>,
  dupTargets: string[] = [],
): Promise<T | null> {
  for (let attempt = 0; ; attempt++) {
    const orderNo = await d.nextOrderNo();
    try {
      // Parallel duplicates queue for a pooled connection: wait for one rather than fail.
      await d.prisma.$transaction((tx) => write(tx, orderNo), { maxWait: 15_000, timeout: 20_000 });
      return null;
    } catch (e) {
      const target = uniqueViolationTarget(e);
      if (target && ["idempotencyKey", ...dupTargets].some((t) => target.includes(t))) {
        const dup = await existing();
        if (dup) return dup;
      }
      if (target?.includes("orderNo") && attempt < 3) continue;
      throw e;
    }
  }
}

export interface OrderServiceDeps {
  prisma: PrismaClient;
  /** Plain SQL on the same pool, for placement's hot statements (decision 0035). */
  sql: PgDb;
  redis: Redis;
  prefix: string;
  paymentTimeoutSeconds: number;
  /** Payment time-out of SECKILL orders (default: paymentTimeoutSeconds). */
  seckillPaymentTimeoutSeconds?: number;
  catalog: CatalogPort;
  member: MemberPort;
  cart: CartPort;
  promotion: PromotionPort;
  payment: PaymentPort;
  /** The job outbox's relay (status events, member messages): flushed after each commit, periodic in the worker. */
  jobs: OutboxRelay;
  timeouts: Queue;
  followUps: Queue;
  nextOrderNo: (now?: Date) => Promise<string>;
  /** `count` order numbers in one Redis call (a seckill batch). */
  nextOrderNos: (count: number, now?: Date) => Promise<string[]>;
  /** The domain's durable workflow runner and the placeOrder workflow registered with it. */
  workflows: WorkflowRunner<PgSql>;
  placeOrderWorkflow: WorkflowDefinition<PlaceOrderState, PgSql>;
  log: Logger;
  hooks?: OrderTestHooks;
}
