import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "gateway/test/**/*.test.ts",
      "subgraphs/*/test/**/*.test.ts",
      "subgraphs/*/src/**/*.test.ts",
      "test/**/*.test.ts",
    ],
    // IDENTITY_HEADER_MAX_AGE_MS: identity headers live 5 s; suites that fire hundreds of parallel
    // requests on a CPU-starved machine get 60 s (honoured only with NODE_ENV=test, decision 0017)
    env: { NODE_ENV: "test", LOG_LEVEL: process.env.LOG_LEVEL ?? "silent", IDENTITY_HEADER_MAX_AGE_MS: "60000" },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
