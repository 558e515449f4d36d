/** One payment subgraph + its workers on a throwaway schema and Redis prefix, with fake order/member. */
import { randomUUID } from "node:crypto";
import type { Identity } from "@mallgraph/platform/auth";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import type { RunningSubgraph } from "@mallgraph/platform/subgraph";
import { createTestRedis, createTestSchema, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { createPaymentSubgraph } from "../src/index.ts";
import { seedPayment } from "../src/seed.ts";
import type { PaymentServiceOptions } from "../src/services/index.ts";
import { startWorkers } from "../src/worker.ts";
import { client, fakeState, startFakeDeps, type FakeState } from "./fakes.ts";

export const SECRET = "test-internal-secret-0123456789";
export const ADMIN: Identity = { kind: "admin", id: "op-1", permissions: ["payment:read", "payment:write"] };
export const buyer = (id: string): Identity => ({ kind: "member", id });

export interface Harness {
  db: TestSchema;
  redis: TestRedis;
  state: FakeState;
  deps: RunningSubgraph;
  sg: Awaited<ReturnType<typeof createPaymentSubgraph>>;
  config: Config;
  gql: ReturnType<typeof client>;
  order(buyerId: string, payable: string, status?: string): string;
  /** Starts the workers (and their outbox relay) when the harness was started without them. */
  startWorkers(): Promise<void>;
  /** Stops the workers (a test that starts them again later). */
  stopWorkers(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(
  opts: { env?: Record<string, string>; workers?: boolean; workflow?: PaymentServiceOptions["workflow"]; workflowEveryMs?: number } = {},
): Promise<Harness> {
  const db = await createTestSchema("payment");
  const redis = createTestRedis();
  const state = fakeState();
  const deps = await startFakeDeps(SECRET, state);
  const config = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, INTERNAL_SECRET: SECRET, ...opts.env } as any);
  const common = { databaseUrl: db.url, orderUrl: deps.url, memberUrl: deps.url, paymentTimeoutSeconds: 600, workflow: opts.workflow };
  const sg = await createPaymentSubgraph({ config, port: 0, ...common });
  // The workers send payouts too: they tell the provider this server's callback URL (PAYMENT_CALLBACK_BASE_URL in a deployment).
  const runWorkers = () =>
    startWorkers(config, { ...common, callbackBaseUrl: new URL(sg.url).origin, workflowEveryMs: opts.workflowEveryMs });
  let stopWorkers = opts.workers === false ? async () => {} : await runWorkers();
  await seedPayment(sg.services.prisma, { sandboxEnabled: config.SANDBOX_ENABLED });
  return {
    db,
    redis,
    state,
    deps,
    sg,
    config,
    gql: client(sg.url, SECRET),
    order(buyerId, payable, status = "PENDING_PAYMENT") {
      const id = randomUUID();
      state.orders.set(id, { id, orderNo: `NO${id.slice(0, 8)}`, buyerId, status, payable, currency: "CNY", subject: "测试商品" });
      return id;
    },
    async startWorkers() {
      stopWorkers = await runWorkers();
    },
    async stopWorkers() {
      await stopWorkers();
      stopWorkers = async () => {};
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
