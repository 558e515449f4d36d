import { configDefaults, defineConfig } from "vitest/config";

/**
 * The Redis-heavy suites, run a second time against a real local Redis Cluster (three masters,
 * started by test/redis-cluster/global-setup.ts; decision 0033): carts, seckill (and its rebuild after
 * Redis lost data), rain (and its rebuild), sessions and
 * the login lock, rate limits and APQ, queues. A key of another slot in a Lua script, a MULTI or a
 * multi-key command fails them there. `--project default` skips the second run.
 */
const REDIS_CLUSTER_SUITES = [
  "packages/platform/test/redis-cluster.test.ts",
  "packages/platform/test/streams.test.ts",
  "subgraphs/cart/test/cart.test.ts",
  "subgraphs/promotion/test/seckill.test.ts",
  "subgraphs/promotion/test/seckill-shards.test.ts",
  "subgraphs/promotion/test/reconcile.test.ts",
  "subgraphs/lottery/test/rain.test.ts",
  "subgraphs/lottery/test/rain-reconcile.test.ts",
  "subgraphs/member/test/auth.test.ts",
  "gateway/test/gateway.test.ts",
  "subgraphs/order/test/outbox-relay.test.ts",
  "subgraphs/order/test/seckill.test.ts",
];

export default defineConfig({
  test: {
    // IDENTITY_HEADER_MAX_AGE_MS: identity headers live 5 s; suites that fire hundreds of parallel
    // requests on a CPU-starved machine get 60 s (honoured only with NODE_ENV=test, decision 0017)
    env: { NODE_ENV: "test", LOG_LEVEL: process.env.LOG_LEVEL ?? "silent", IDENTITY_HEADER_MAX_AGE_MS: "60000" },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "default",
          include: [
            "packages/*/src/**/*.test.ts",
            "packages/*/test/**/*.test.ts",
            "gateway/test/**/*.test.ts",
            "subgraphs/*/test/**/*.test.ts",
            "subgraphs/*/src/**/*.test.ts",
            "test/**/*.test.ts",
          ],
          // needs the cluster of the project below; the fault tests run alone (project "faults")
          exclude: [...configDefaults.exclude, "packages/platform/test/redis-cluster.test.ts", "test/faults/**"],
        },
      },
      {
        extends: true,
        test: {
          // Real processes killed, paused and restarted under storms: run after the other suites,
          // on their own (`npm test` runs this project last; `npm run test:faults` alone).
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "redis-cluster",
          include: REDIS_CLUSTER_SUITES,
          globalSetup: ["test/redis-cluster/global-setup.ts"],
          setupFiles: ["test/redis-cluster/env.ts"],
        },
      },
    ],
  },
});
