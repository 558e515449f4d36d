/** What the payment use cases share: dependencies, constants, the provider-facing record, live events and anomalies. */
import { publishLiveEvent } from "@mallgraph/platform/events";
import type { Logger } from "@mallgraph/platform/log";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import type { OutboxJob, OutboxRelay } from "@mallgraph/platform/outbox";
import { QueueName } from "@mallgraph/platform/queue";
import type { Redis } from "@mallgraph/platform/redis";
import type { WorkflowHooks, WorkflowRunner } from "@mallgraph/platform/workflow";
import type { JobsOptions, Queue } from "bullmq";
import type { Channel, PaymentChannelAdapter, PaymentRecord } from "../channels/types.ts";
import type { WalletAdapter } from "../channels/wallet.ts";
import type { Payment, PrismaClient } from "../generated/prisma/client.ts";
import type { MerchantService } from "./merchants.ts";
import type { Ports } from "./ports.ts";

export const CHANNELS: Channel[] = ["SANDBOX", "WALLET", "ALIPAY", "WECHAT_PAY"];
export const PAID_STATES = ["SUCCEEDED", "REFUNDED"] as const;
export const ORDER_PAID_STATES = new Set(["PAID", "SHIPPED", "COMPLETED", "REFUNDING", "REFUNDED"]);
export const CALLBACK_PATHS: Record<Exclude<Channel, "WALLET">, string> = { SANDBOX: "sandbox", ALIPAY: "alipay", WECHAT_PAY: "wechat" };

export interface PaymentEventModel {
  eventId: string;
  type: string;
  status: Payment["status"];
  paymentId: string;
}

export interface PaymentOptions {
  /** Seconds an unpaid payment stays open. */
  timeoutSeconds: number;
  /** Base URL providers call back (`<base>/callbacks/<channel>`). */
  callbackBaseUrl: () => string;
  /** The SANDBOX channel may be used (config.SANDBOX_ENABLED; off in production). */
  sandboxEnabled: boolean;
}

export interface PaymentDeps {
  prisma: PrismaClient;
  ports: Ports;
  adapters: Record<Channel, PaymentChannelAdapter>;
  wallet: WalletAdapter;
  merchants: MerchantService;
  timeoutsQueue: Queue;
  notifyQueue: Queue;
  /** The job outbox (status events, order/wallet notifications): written in the change's transaction, relayed after commit and by the worker. */
  outbox: OutboxRelay;
  hooks?: PaymentTestHooks;
  redis: Redis;
  redisPrefix: string;
  options: PaymentOptions;
  /** The domain's durable workflow runner (wallet payments, provider checkouts); the worker sweeps it. */
  workflows: WorkflowRunner<Tx>;
  log: Logger;
}

/** Tests only: `afterCommit` runs after a status change committed and before its outbox is relayed (a throw there is a crash). */
export interface PaymentTestHooks {
  afterCommit?: (what: "SUCCEEDED" | "CLOSED" | "REFUNDED") => void | Promise<void>;
  /** The wallet payment and provider checkout workflows' step hooks (a SimulatedCrash there is a killed process). */
  workflow?: WorkflowHooks;
}

export type ApplyOutcome = "APPLIED" | "DUPLICATE" | "REFUSED";

export type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

export function toRecord(p: Payment): PaymentRecord {
  return {
    id: p.id,
    checkoutRef: p.checkoutRef,
    buyerId: p.buyerId,
    orderNo: p.orderNo ?? p.checkoutRef,
    subject: p.subject,
    amount: formatAmount(p.amount, p.currency),
    currency: p.currency,
    expiresAt: p.expiresAt,
    providerTradeNo: p.providerTradeNo,
  };
}

/** The wallet reference of a top-up's credit, and of its refund (freeze, then payout). */
export const topUpRef = (p: { id: string }) => `topup:${p.id}`;
export const topUpRefundRef = (p: { id: string }) => `topup-refund:${p.id}`;

/** Job options of the payment-notify queue's relayed jobs (retried until the other domain acknowledges). */
export const NOTIFY_JOB_OPTIONS: JobsOptions = { attempts: 30, backoff: { type: "exponential", delay: 1000 } };

/** Outbox jobs (payment-notify queue); each key is the BullMQ jobId and the consumer's idempotency key. */
export const paymentJobs = {
  /** The live event `paymentStatusChanged` of an event row, published once (PaymentEvent.publishedAt). */
  event: (eventId: string): OutboxJob => ({
    key: `payment-event-${eventId}`,
    queue: QueueName.paymentNotify,
    name: "publish-event",
    data: { eventId },
  }),
  /** The order marked paid (a top-up: the wallet credited), once per payment. */
  paid: (paymentId: string): OutboxJob => ({
    key: `notify-paid-${paymentId}`,
    queue: QueueName.paymentNotify,
    name: "notify-paid",
    data: { paymentId },
  }),
  /** The order books a refund, once per refund. */
  refunded: (refundId: string): OutboxJob => ({
    key: `notify-refunded-${refundId}`,
    queue: QueueName.paymentNotify,
    name: "notify-refunded",
    data: { refundId },
  }),
};

/** After a status change committed: the test hook (a simulated crash), then the outbox relay (never throws; the worker's periodic relay retries). */
export async function afterCommit(d: Pick<PaymentDeps, "outbox" | "hooks">, what: "SUCCEEDED" | "CLOSED" | "REFUNDED"): Promise<void> {
  await d.hooks?.afterCommit?.(what);
  await d.outbox.flush();
}

/**
 * Job `publish-event`: the live event `paymentStatusChanged` of a committed event row (the gateway
 * loads the payload). Claimed by a conditional update first, so a re-delivered job publishes
 * nothing; a failed publish un-claims the row and throws (BullMQ retries).
 */
export async function publishPaymentEvent(
  d: Pick<PaymentDeps, "prisma" | "redis" | "redisPrefix">,
  eventId: string,
): Promise<"published" | "done"> {
  const claimed = await d.prisma.paymentEvent.updateMany({ where: { id: eventId, publishedAt: null }, data: { publishedAt: new Date() } });
  if (claimed.count !== 1) return "done";
  const e = await d.prisma.paymentEvent.findUniqueOrThrow({ where: { id: eventId } });
  try {
    await publishLiveEvent(d.redis, d.redisPrefix, "paymentStatusChanged", {
      eventId,
      keys: { paymentId: e.paymentId },
      audience: [e.buyerId],
    });
  } catch (err) {
    await d.prisma.paymentEvent.update({ where: { id: eventId }, data: { publishedAt: null } });
    throw err;
  }
  return "published";
}

/** Records a callback or payment anomaly (CallbackAnomaly). */
export async function recordAnomaly(
  prisma: PrismaClient,
  channel: Channel,
  paymentId: string | null,
  reason: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await prisma.callbackAnomaly.create({ data: { channel, paymentId, reason, detail: JSON.stringify(detail) } });
}

/** Whether a provider's amount text equals ours (false when it does not parse). */
export function sameAmount(a: string, b: { toString(): string }): boolean {
  try {
    return new Decimal(a).eq(new Decimal(b.toString()));
  } catch {
    return false;
  }
}
