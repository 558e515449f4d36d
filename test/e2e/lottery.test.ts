/**
 * The lottery contract operations through the REAL stack — every subgraph,
 * the workers and the gateway as processes, seeded demo data. A registered member grabs a red
 * envelope (the real member subgraph's walletCredit credits the wallet via the worker), the
 * RedEnvelopeRain subscription pushes the grab, and Draw works idempotently on the demo activity.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Decimal } from "@mallgraph/platform/money";
import { createRedis } from "@mallgraph/platform/redis";
import { waitFor } from "@mallgraph/platform/testing";
import { wsClient, type GraphQLHttpClient } from "./client.ts";
import { startE2E, adminToken, registerMember, type E2E } from "./harness.ts";

describe("lottery through the real stack", () => {
  let e: E2E;
  let api: GraphQLHttpClient;

  beforeAll(async () => {
    e = await startE2E();
    api = e.api;
  }, 300000);
  afterAll(async () => {
    await e?.stop();
  });

  it("rain → grab → wallet credited by member → subscription event; Draw is idempotent", async () => {
    const admin = await adminToken(e);
    const { token } = await registerMember(e, admin);
    const cny = async () => (await api.ok("Me", {}, token)).me.wallets.find((w: any) => w.currency === "CNY")?.balance ?? "0.00";
    const before = await cny();

    const now = Date.now();
    const rain = (
      await api.ok(
        "AdminCreateRedEnvelopeRain",
        {
          input: {
            title: "e2e rain",
            totalAmount: "10.00",
            currency: "CNY",
            shares: 4,
            startsAt: new Date(now - 1000).toISOString(),
            endsAt: new Date(now + 600_000).toISOString(),
          },
        },
        admin,
      )
    ).adminCreateRedEnvelopeRain;
    expect(rain.status).toBe("ONLINE");

    const ws = wsClient(e.stack.gatewayUrl, token);
    const events: any[] = [];
    ws.subscribe(
      {
        query: `subscription RedEnvelopeRain($rainId: ID!) { redEnvelopeRain(rainId: $rainId) { remainingShares lastGrab { amount memberId } } }`,
        variables: { rainId: rain.id },
      },
      { next: (r) => void events.push(r), error: (e) => void events.push({ error: e }), complete: () => undefined },
    );
    // Grab only once the gateway listens (it subscribes the channel in Redis on demand).
    const probe = createRedis(e.cfg.REDIS_URL);
    try {
      await waitFor(
        async () =>
          ((await probe.pubsub("NUMSUB", `${e.cfg.REDIS_PREFIX}:events:redEnvelopeRain`)) as [string, number])[1] > 0 || undefined,
        "the gateway's subscription",
      );
    } finally {
      probe.disconnect();
    }
    const grab = (await api.ok("GrabRedEnvelope", { rainId: rain.id }, token)).grabRedEnvelope;
    expect(grab.code).toBe("OK");
    expect((await api.ok("GrabRedEnvelope", { rainId: rain.id }, token)).grabRedEnvelope).toEqual({ ...grab, code: "ALREADY_GRABBED" });
    await waitFor(async () => (events.length ? true : undefined), "the rain event");
    expect(events[0].data.redEnvelopeRain.remainingShares).toBe(3);
    expect(events[0].data.redEnvelopeRain.lastGrab.amount).toBe(grab.amount);
    await waitFor(async () => ((await cny()) !== before ? true : undefined), "the wallet credit");
    expect(await cny()).toBe(new Decimal(before).plus(grab.amount).toFixed(2));
    ws.dispose();

    const activities = await api.raw(`{ lotteryActivities { id name } }`);
    const activityId = activities.data.lotteryActivities[0].id;
    const d1 = (await api.ok("Draw", { activityId, idempotencyKey: "e2e-1" }, token)).draw;
    expect(d1.code).toBe("OK");
    expect((await api.ok("Draw", { activityId, idempotencyKey: "e2e-1" }, token)).draw).toEqual(d1);
  }, 120_000);
});
