/** What the payment use cases share: dependencies, constants, the provider-facing record, live events and anomalies. */
import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import { publishLiveEvent } from "@mallgraph/platform/events";
import type { Logger } from "@mallgraph/platform/log";
import type { Payment, PrismaClient } from "../generated/prisma/client.ts";
import type { Channel, PaymentChannelAdapter, PaymentRecord } from "../channels/types.ts";
import type { WalletAdapter } from "../channels/wallet.ts";
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
  redis: Redis;
  redisPrefix: string;
  options: PaymentOptions;
  log: Logger;
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

/** The live event `paymentStatusChanged` of a committed event row (best effort: the gateway loads the payload). */
export async function publishPaymentEvent(d: Pick<PaymentDeps, "redis" | "redisPrefix" | "log">, p: Payment, eventId: string): Promise<void> {
  await publishLiveEvent(d.redis, d.redisPrefix, "paymentStatusChanged", { eventId, keys: { paymentId: p.id }, audience: [p.buyerId] }).catch((e) =>
    d.log.warn({ err: e }, "live event not published"),
  );
}

/** Records a callback or payment anomaly (CallbackAnomaly). */
export async function recordAnomaly(prisma: PrismaClient, channel: Channel, paymentId: string | null, reason: string, detail: Record<string, unknown>): Promise<void> {
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
