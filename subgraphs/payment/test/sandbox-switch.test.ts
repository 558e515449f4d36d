/**
 * SANDBOX_ENABLED=false (the production default): the SANDBOX channel cannot be used even when a
 * merchant's configuration enables it, sandboxCompletePayment answers SANDBOX_DISABLED, and the
 * seed leaves (or turns) the channel off.
 */
import { loadConfig } from "@mallgraph/platform/config";
import { productionEnv } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../src/seed.ts";
import { buyer, startHarness, type Harness } from "./harness.ts";

const CREATE = `mutation($orderId: ID!, $channel: PaymentChannel!) { createPayment(orderId: $orderId, channel: $channel) { code message payment { id } } }`;
const COMPLETE = `mutation($ref: String!) { sandboxCompletePayment(checkoutRef: $ref) }`;

describe("SANDBOX_ENABLED=false", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { SANDBOX_ENABLED: "false" } });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const sandboxConfigs = () => h.sg.services.prisma.channelConfig.findMany({ where: { channel: "SANDBOX" } });

  it("the seed does not enable the SANDBOX channel", async () => {
    expect(h.config.SANDBOX_ENABLED).toBe(false);
    const configs = await sandboxConfigs();
    expect(configs.length).toBeGreaterThan(0);
    expect(configs.every((c) => !c.enabled)).toBe(true);
  });

  it("refuses a SANDBOX payment with CHANNEL_DISABLED even when the merchant enabled the channel, and writes none", async () => {
    await h.sg.services.prisma.channelConfig.updateMany({ where: { channel: "SANDBOX" }, data: { enabled: true } });
    const orderId = h.order("B1", "10.00");
    const r = await h.gql(CREATE, { orderId, channel: "SANDBOX" }, buyer("B1"));
    expect(r.data?.createPayment).toEqual({ code: "CHANNEL_DISABLED", message: expect.stringContaining("SANDBOX_ENABLED"), payment: null });
    expect(await h.sg.services.prisma.payment.count({ where: { orderId } })).toBe(0);
  });

  it("answers sandboxCompletePayment with SANDBOX_DISABLED", async () => {
    const r = await h.gql(COMPLETE, { ref: "any-checkout-ref" }, buyer("B1"));
    expect(r.data ?? null).toBeNull();
    expect(r.errors?.[0]?.extensions?.code).toBe("SANDBOX_DISABLED");
  });

  it("a seed with the production configuration turns an enabled SANDBOX channel off", async () => {
    await h.sg.services.prisma.channelConfig.updateMany({ where: { channel: "SANDBOX" }, data: { enabled: true } });
    const summary = await seed(loadConfig((await productionEnv()) as NodeJS.ProcessEnv), h.db.url);
    expect(summary).not.toContain("SANDBOX+WALLET enabled");
    expect((await sandboxConfigs()).every((c) => !c.enabled)).toBe(true);
  });
});
