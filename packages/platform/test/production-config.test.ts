import { describe, expect, it } from "vitest";
import { loadConfig, productionProblems, DEV_ADMIN_PASSWORD } from "../src/config.ts";
import { productionEnv } from "../src/testing.ts";

const problemsOf = (env: Record<string, string | undefined>) => {
  try {
    loadConfig(env as NodeJS.ProcessEnv);
    return [];
  } catch (e) {
    return (e as Error).message
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(":")[0]);
  }
};

describe("production refuses unsafe settings (each on its own)", () => {
  it("accepts the safe settings, and SANDBOX is off in production unless set", async () => {
    const safe = await productionEnv();
    expect(problemsOf({ ...safe, SANDBOX_ENABLED: undefined })).toEqual([]);
    expect(loadConfig({ ...safe, SANDBOX_ENABLED: undefined } as NodeJS.ProcessEnv).SANDBOX_ENABLED).toBe(false);
  });

  it.each([
    ["INTERNAL_SECRET", undefined],
    ["INTERNAL_SECRET", "x".repeat(31)],
    ["INTERNAL_SECRET", "change-me-change-me-change-me-change-me"],
    ["PAYMENT_SERVICE_SECRET", "too-short"],
    ["ADMIN_PASSWORD", undefined],
    ["ADMIN_PASSWORD", DEV_ADMIN_PASSWORD],
    ["JWT_PRIVATE_JWK", undefined],
    ["JWT_PRIVATE_JWK", ""],
    ["SANDBOX_ENABLED", "true"],
  ])("%s = %j is a start-up error naming it", async (variable, value) => {
    const safe = await productionEnv();
    expect(problemsOf({ ...safe, [variable]: value })).toEqual([variable]);
  });

  it("development keeps its working defaults: nothing refused, SANDBOX on", () => {
    const config = loadConfig({ NODE_ENV: "development" } as NodeJS.ProcessEnv);
    expect(productionProblems(config)).toEqual([]);
    expect(config.SANDBOX_ENABLED).toBe(true);
    expect(config.ADMIN_PASSWORD).toBe(DEV_ADMIN_PASSWORD);
    expect(loadConfig({ NODE_ENV: "development", SANDBOX_ENABLED: "false" } as NodeJS.ProcessEnv).SANDBOX_ENABLED).toBe(false);
  });
});
