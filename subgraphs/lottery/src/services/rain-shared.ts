/** What the red-envelope rain's use cases share: dependencies, limits, types, amounts in minor units and the keys. */
import type { Logger } from "@mallgraph/platform/log";
import { Decimal, currencyDecimals } from "@mallgraph/platform/money";
import type { Queue } from "@mallgraph/platform/queue";
import { entityKeyFor, type KeyFn, type Redis } from "@mallgraph/platform/redis";
import type { WorkflowHooks, WorkflowRunner } from "@mallgraph/platform/workflow";
import type { GrabCode } from "../errors.ts";
import type { Prisma, PrismaClient, RedEnvelopeRain } from "../generated/prisma/client.ts";
import type { WalletPort } from "./ports.ts";
import type { RandomInt } from "./split.ts";

export const MAX_SHARES = 1_000_000;
export const MAX_SHARDS = 16;
export const SHARES_PER_SHARD = 500;
export const KEY_TTL_AFTER_CLOSE_S = 7 * 24 * 3600;
export const EVENT_TTL_S = 300;
/** Job options of a credit-grab job (retried until the wallet answers). */
export const CREDIT_JOB_OPTIONS = { attempts: 30, backoff: { type: "exponential", delay: 1000 } } as const;

export interface RainInput {
  title: string;
  totalAmount: string;
  currency: string;
  shares: number;
  startsAt: string;
  endsAt: string;
}

export interface GrabResult {
  code: GrabCode;
  amount: string | null;
  currency: string | null;
}

export interface RainEventPayload {
  rainId: string;
  remainingShares: number;
  lastGrab: { amount: string; memberId: string; at: string } | null;
}

export interface CreditGrabJob {
  rainId: string;
  memberId: string;
  amountMinor: number;
  currency: string;
  atMs: number;
}

export type RainStatus = "SCHEDULED" | "ONLINE" | "ENDED" | "CLOSED";

export interface RainView extends RedEnvelopeRain {
  status: RainStatus;
  remainingShares: number;
}

export interface RainServiceDeps {
  prisma: PrismaClient;
  redis: Redis;
  redisPrefix: string;
  queue: Queue;
  wallet: WalletPort;
  log: Logger;
  /** Coalescing window of live events per rain (ms). */
  eventWindowMs?: number;
  /** Pause between fencing a rain and reading it when it is reconciled (ms, default 1000: grabs in flight finish). */
  reconcileGraceMs?: number;
  random?: RandomInt;
  now?: () => number;
  /** The domain's durable workflow runner (rain creation); the worker sweeps it. */
  workflows: WorkflowRunner<Prisma.TransactionClient>;
  /** Tests only: the rain creation workflow's step hooks (a SimulatedCrash there is a killed process). */
  hooks?: { createRain?: WorkflowHooks };
}

/** What every use case of the rain gets: the dependencies, the keys and the clock (tests move it on the service). */
export interface RainContext {
  d: RainServiceDeps;
  keys: RainKeys;
  now: () => number;
}

export function toMinor(amount: Decimal, currency: string): number {
  return amount.times(new Decimal(10).pow(currencyDecimals(currency))).toNumber();
}

export function fromMinor(minor: number | string, currency: string): Decimal {
  return new Decimal(minor.toString()).div(new Decimal(10).pow(currencyDecimals(currency)));
}

/** The wallet reference of a rain's budget freeze (and of its release). */
export const budgetRef = (rainId: string) => `rain:${rainId}`;

/**
 * A rain's Redis keys, all under the rain's own hash tag `<prefix>:lottery:{rain:<id>}` (decision
 * 0033): every key of one script call in one Redis Cluster slot, different rains on different slots.
 * `stream` is the hand-off of its grabs (rain-stream.ts); `reconcile` the lock of its rebuild (rain-reconcile.ts).
 */
export class RainKeys {
  constructor(private readonly redisPrefix: string) {}

  private k(id: string): KeyFn {
    return entityKeyFor(this.redisPrefix, "lottery", "rain", id);
  }
  meta(id: string) {
    return this.k(id)();
  }
  grabs(id: string) {
    return this.k(id)("grabs");
  }
  shard(id: string, i: number) {
    return this.k(id)("shard", i);
  }
  shards(id: string, shards: number) {
    return Array.from({ length: shards }, (_, i) => this.shard(id, i));
  }
  stream(id: string) {
    return this.k(id)("stream");
  }
  reconcile(id: string) {
    return this.k(id)("reconcile");
  }
  event(id: string, eventId: string) {
    return this.k(id)("event", eventId);
  }
}
