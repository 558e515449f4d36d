/**
 * One lottery subgraph + its workers on a throwaway schema and Redis prefix, with a tiny REAL
 * in-process member subgraph serving `walletCredit` (idempotent per reference, like member's).
 */
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { asInternal } from "@mallgraph/platform/access";
import { Decimal } from "@mallgraph/platform/money";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { signIdentity, type Identity } from "@mallgraph/platform/auth";
import { createLotterySubgraph } from "../src/index.ts";
import { startWorkers } from "../src/worker.ts";

export const SECRET = "test-internal-secret-0123456789";
export const ADMIN: Identity = { kind: "admin", id: "op-1", permissions: ["lottery:write"] };
export const member = (id: string): Identity => ({ kind: "member", id });

export interface FakeMember {
  balances: Map<string, Decimal>;
  /** Every walletCredit call received (also repeats). */
  calls: Array<{ memberId: string; amount: string; reference: string }>;
  /** Fail this many calls before answering (retry tests). */
  failures: number;
}

export async function startFakeMember(secret: string, state: FakeMember): Promise<RunningSubgraph> {
  const done = new Set<string>();
  return startSubgraph({
    name: "fake-member",
    port: 0,
    internalSecret: secret,
    context: (base) => base,
    typeDefs: /* GraphQL */ `
      type WalletOpResult { code: String! balance: String frozen: String }
      type Query { ok: Boolean }
      type Mutation { walletCredit(memberId: ID!, currency: String!, amount: String!, reference: String!): WalletOpResult! }
    `,
    resolvers: {
      Mutation: {
        walletCredit: asInternal((_p: unknown, a: { memberId: string; currency: string; amount: string; reference: string }) => {
          state.calls.push({ memberId: a.memberId, amount: a.amount, reference: a.reference });
          if (state.failures > 0) {
            state.failures--;
            throw new Error("member subgraph hiccup");
          }
          const key = `${a.memberId}:${a.currency}`;
          if (!done.has(a.reference)) {
            done.add(a.reference);
            state.balances.set(key, (state.balances.get(key) ?? new Decimal(0)).plus(a.amount));
          }
          return { code: "OK", balance: state.balances.get(key)!.toFixed(2) };
        }),
      },
    },
  });
}

export function client(url: string, secret: string) {
  return async function gql<T = any>(query: string, variables: Record<string, unknown> = {}, identity?: Identity): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(identity ? { "x-mg-identity": signIdentity(secret, identity) } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return res.json() as any;
  };
}

export async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

export interface Harness {
  db: TestSchema;
  redis: TestRedis;
  config: Config;
  fake: FakeMember;
  deps: RunningSubgraph;
  sg: Awaited<ReturnType<typeof createLotterySubgraph>>;
  gql: ReturnType<typeof client>;
  stop(): Promise<void>;
}

export async function startHarness(opts: { workers?: boolean } = {}): Promise<Harness> {
  const db = await createTestSchema("lottery");
  const redis = createTestRedis();
  const fake: FakeMember = { balances: new Map(), calls: [], failures: 0 };
  const deps = await startFakeMember(SECRET, fake);
  const config = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, INTERNAL_SECRET: SECRET, LOG_LEVEL: "error" } as any);
  const common = { databaseUrl: db.url, memberUrl: deps.url, eventWindowMs: 30 };
  const sg = await createLotterySubgraph({ config, port: 0, ...common });
  const stopWorkers = opts.workers === false ? async () => undefined : await startWorkers(config, common);
  return {
    db,
    redis,
    config,
    fake,
    deps,
    sg,
    gql: client(sg.url, SECRET),
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
