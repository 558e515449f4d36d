/** What the order use cases share: their dependencies and the limits of an order. */
import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import type { Logger } from "@mallgraph/platform/log";
import type { Prisma, PrismaClient } from "../generated/prisma/client.ts";
import type { OutboxPublisher } from "./outbox.ts";
import type { CartPort, CatalogPort, MemberPort, PaymentPort, PromotionPort } from "./ports.ts";
import type { OrderTestHooks } from "./types.ts";

export const MAX_LINE_QUANTITY = 999;
export const MAX_LINES = 50;
/** Catalog keeps a reservation this much longer than the payment time-out, so our cancel job releases it first. */
export const RESERVATION_MARGIN_SECONDS = 600;

export type Tx = Prisma.TransactionClient;

export interface OrderServiceDeps {
  prisma: PrismaClient;
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
  outbox: OutboxPublisher;
  timeouts: Queue;
  followUps: Queue;
  nextOrderNo: (now?: Date) => Promise<string>;
  log: Logger;
  hooks?: OrderTestHooks;
}
