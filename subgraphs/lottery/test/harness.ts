/**
 * One lottery subgraph + its workers on a throwaway schema and Redis prefix, with a tiny REAL
 * in-process subgraph standing in for its neighbours: member's marketing account (budget freeze and
 * release, grants from the freeze to members), promotion's
 * `couponGrant` and order's `orderCreatePrize`, each idempotent per reference like the real ones.
 */
import { internalFields } from "@mallgraph/platform/access";
import { signIdentity, type Identity } from "@mallgraph/platform/auth";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { AppError, ErrorCode } from "@mallgraph/platform/errors";
import { Decimal } from "@mallgraph/platform/money";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { createLotterySubgraph } from "../src/index.ts";
import type { LotteryServiceOptions } from "../src/services/index.ts";
import { startWorkers } from "../src/worker.ts";

/** The fake's caller table (the real subgraph's names more callers). */
const asInternal = internalFields({
  walletCredit: ["lottery"],
  marketingGrant: ["lottery"],
  marketingBudgetFreeze: ["lottery"],
  marketingBudgetRelease: ["lottery"],
  couponGrant: ["lottery"],
  orderCreatePrize: ["lottery"],
});

export const SECRET = "test-internal-secret-0123456789";
export const ADMIN: Identity = { kind: "admin", id: "op-1", permissions: ["lottery:read", "lottery:write"] };
export const member = (id: string): Identity => ({ kind: "member", id });

export interface FakeMember {
  balances: Map<string, Decimal>;
  /** The MARKETING account per currency (a large budget unless a test sets it). */
  marketing: Map<string, { balance: Decimal; frozen: Decimal }>;
  /** Every marketingGrant call received (also repeats). */
  calls: Array<{ memberId: string; amount: string; reference: string }>;
  /** Fail this many calls before answering (retry tests). */
  failures: number;
  /** couponGrant: every call, the coupons granted per reference; templates that answer SOLD_OUT. */
  grantCalls: Array<{ memberId: string; templateId: string; reference: string }>;
  coupons: Map<string, { id: string; memberId: string; templateId: string }>;
  soldOutTemplates: Set<string>;
  /** orderCreatePrize: the members' default addresses (memberId → addressId), other addresses, the orders per draw. */
  defaultAddress: Map<string, string>;
  addresses: Map<string, string>;
  prizeOrders: Map<string, { id: string; buyerId: string; skuId: string; addressId: string }>;
  /** Fail this many couponGrant / orderCreatePrize calls before answering. */
  serviceFailures: number;
}

export function newFakeMember(): FakeMember {
  return {
    balances: new Map(),
    marketing: new Map(),
    calls: [],
    failures: 0,
    grantCalls: [],
    coupons: new Map(),
    soldOutTemplates: new Set(),
    defaultAddress: new Map(),
    addresses: new Map(),
    prizeOrders: new Map(),
    serviceFailures: 0,
  };
}

export async function startFakeMember(secret: string, state: FakeMember): Promise<RunningSubgraph> {
  const done = new Set<string>();
  const marketing = (currency: string) =>
    state.marketing.get(currency) ??
    state.marketing.set(currency, { balance: new Decimal("1000000000"), frozen: new Decimal(0) }).get(currency)!;
  const hiccup = () => {
    if (state.serviceFailures > 0) {
      state.serviceFailures--;
      throw new Error("neighbour subgraph hiccup");
    }
  };
  return startSubgraph({
    name: "fake-member",
    port: 0,
    internalSecret: secret,
    context: (base) => base,
    typeDefs: /* GraphQL */ `
      type WalletOpResult {
        code: String!
        balance: String
        frozen: String
      }
      type Coupon {
        id: ID!
      }
      type ClaimCouponResult {
        code: String!
        coupon: Coupon
      }
      type SeckillOrderResult {
        code: String!
        orderId: ID
        status: String
      }
      type Query {
        ok: Boolean
      }
      type Mutation {
        marketingGrant(memberId: ID!, currency: String!, amount: String!, reference: String!): WalletOpResult!
        marketingBudgetFreeze(currency: String!, amount: String!, reference: String!): WalletOpResult!
        marketingBudgetRelease(currency: String!, amount: String!, reference: String!): WalletOpResult!
        couponGrant(memberId: ID!, templateId: ID!, reference: String!): ClaimCouponResult!
        orderCreatePrize(drawId: ID!, buyerId: ID!, skuId: ID!, addressId: ID): SeckillOrderResult!
      }
    `,
    resolvers: {
      Mutation: {
        marketingGrant: asInternal(
          "marketingGrant",
          (_p: unknown, a: { memberId: string; currency: string; amount: string; reference: string }) => {
            state.calls.push({ memberId: a.memberId, amount: a.amount, reference: a.reference });
            if (state.failures > 0) {
              state.failures--;
              throw new Error("member subgraph hiccup");
            }
            const key = `${a.memberId}:${a.currency}`;
            if (!done.has(a.reference)) {
              const m = marketing(a.currency);
              if (m.frozen.lt(a.amount)) return { code: "INSUFFICIENT_FROZEN" };
              done.add(a.reference);
              m.frozen = m.frozen.minus(a.amount);
              state.balances.set(key, (state.balances.get(key) ?? new Decimal(0)).plus(a.amount));
            }
            return { code: "OK", balance: state.balances.get(key)!.toFixed(2) };
          },
        ),
        marketingBudgetFreeze: asInternal(
          "marketingBudgetFreeze",
          (_p: unknown, a: { currency: string; amount: string; reference: string }) => {
            const m = marketing(a.currency);
            if (!done.has(`freeze:${a.reference}`)) {
              if (m.balance.lt(a.amount)) return { code: "INSUFFICIENT_BALANCE", balance: m.balance.toFixed(2) };
              done.add(`freeze:${a.reference}`);
              m.balance = m.balance.minus(a.amount);
              m.frozen = m.frozen.plus(a.amount);
            }
            return { code: "OK", balance: m.balance.toFixed(2) };
          },
        ),
        marketingBudgetRelease: asInternal(
          "marketingBudgetRelease",
          (_p: unknown, a: { currency: string; amount: string; reference: string }) => {
            const m = marketing(a.currency);
            if (!done.has(`freeze:${a.reference}`)) return { code: "NO_FREEZE" };
            if (!done.has(`release:${a.reference}`)) {
              done.add(`release:${a.reference}`);
              m.frozen = m.frozen.minus(a.amount);
              m.balance = m.balance.plus(a.amount);
            }
            return { code: "OK", balance: m.balance.toFixed(2) };
          },
        ),
        couponGrant: asInternal("couponGrant", (_p: unknown, a: { memberId: string; templateId: string; reference: string }) => {
          state.grantCalls.push(a);
          hiccup();
          if (a.templateId === "no-such-template") throw new AppError(ErrorCode.NOT_FOUND, "coupon template no-such-template not found");
          const had = state.coupons.get(a.reference);
          if (had) return { code: "OK", coupon: had };
          if (state.soldOutTemplates.has(a.templateId)) return { code: "SOLD_OUT", coupon: null };
          const coupon = { id: `coupon-${state.coupons.size + 1}`, memberId: a.memberId, templateId: a.templateId };
          state.coupons.set(a.reference, coupon);
          return { code: "OK", coupon };
        }),
        orderCreatePrize: asInternal(
          "orderCreatePrize",
          (_p: unknown, a: { drawId: string; buyerId: string; skuId: string; addressId?: string | null }) => {
            hiccup();
            const had = state.prizeOrders.get(a.drawId);
            if (had) return { code: "OK", orderId: had.id, status: "PAID" };
            const addressId = a.addressId ?? state.defaultAddress.get(a.buyerId);
            if (!addressId) return { code: "NO_ADDRESS", orderId: null, status: null };
            if (a.addressId && state.addresses.get(a.addressId) !== a.buyerId && state.defaultAddress.get(a.buyerId) !== a.addressId)
              return { code: "ADDRESS_NOT_FOUND", orderId: null, status: null };
            const order = { id: `prize-order-${state.prizeOrders.size + 1}`, buyerId: a.buyerId, skuId: a.skuId, addressId };
            state.prizeOrders.set(a.drawId, order);
            return { code: "OK", orderId: order.id, status: "PAID" };
          },
        ),
      },
    },
  });
}

export function client(url: string, secret: string) {
  return async function gql<T = any>(
    query: string,
    variables: Record<string, unknown> = {},
    identity?: Identity,
  ): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(identity ? { "x-mg-identity": signIdentity(secret, identity) } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return res.json() as any;
  };
}

export interface Harness {
  db: TestSchema;
  redis: TestRedis;
  config: Config;
  fake: FakeMember;
  deps: RunningSubgraph;
  sg: Awaited<ReturnType<typeof createLotterySubgraph>>;
  gql: ReturnType<typeof client>;
  /** Starts the workers when the harness was started without them (or after stopWorkers). */
  startWorkers(): Promise<void>;
  stopWorkers(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(
  opts: {
    workers?: boolean;
    deliveryBudget?: { attempts: number; backoffMs: number };
    workflow?: LotteryServiceOptions["workflow"];
    workflowEveryMs?: number;
  } = {},
): Promise<Harness> {
  const db = await createTestSchema("lottery");
  const redis = createTestRedis();
  const fake = newFakeMember();
  const deps = await startFakeMember(SECRET, fake);
  const config = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, INTERNAL_SECRET: SECRET, LOG_LEVEL: "error" } as any);
  const common = {
    databaseUrl: db.url,
    memberUrl: deps.url,
    promotionUrl: deps.url,
    orderUrl: deps.url,
    eventWindowMs: 30,
    reconcileGraceMs: 50,
    deliveryBudget: opts.deliveryBudget ?? { attempts: 3, backoffMs: 100 },
    workflow: opts.workflow,
  };
  const sg = await createLotterySubgraph({ config, port: 0, ...common });
  // a stream entry whose credit failed comes again after 300 ms (10 s in production)
  const runWorkers = () => startWorkers(config, { ...common, claimIdleMs: 300, workflowEveryMs: opts.workflowEveryMs });
  let stopWorkers = opts.workers === false ? async () => undefined : await runWorkers();
  return {
    db,
    redis,
    config,
    fake,
    deps,
    sg,
    gql: client(sg.url, SECRET),
    async startWorkers() {
      stopWorkers = await runWorkers();
    },
    async stopWorkers() {
      await stopWorkers();
      stopWorkers = async () => undefined;
    },
    async stop() {
      await stopWorkers();
      await sg.stop();
      await deps.stop();
      await closeQueueConnections();
      await redis.cleanup();
      await db.drop();
    },
  };
}
