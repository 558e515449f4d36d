/**
 * The contract subscription through the REAL gateway (its generic FEvent rule): a supergraph
 * composed from this subgraph alone, a graphql-ws client subscribing to `redEnvelopeRain`, grabs
 * made on the subgraph; the pushed payloads come from `redEnvelopeRainEvent`.
 */
import { composeServices } from "@apollo/composition";
import { waitFor } from "@mallgraph/platform/testing";
import { parse } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createGateway, type RunningGateway } from "../../../gateway/src/index.ts";
import { typeDefs } from "../src/index.ts";
import { ADMIN, member, startHarness, type Harness } from "./harness.ts";

let h: Harness;
let gw: RunningGateway;
let ws: Client;

beforeAll(async () => {
  h = await startHarness();
  const composed = composeServices([{ name: "lottery", url: h.sg.url, typeDefs: parse(typeDefs) }]);
  if (composed.errors?.length) throw new Error(composed.errors.map((e) => e.message).join("\n"));
  gw = await createGateway({
    config: h.config,
    port: 0,
    host: "127.0.0.1",
    supergraphSdl: composed.supergraphSdl!,
    subgraphUrls: { lottery: h.sg.url },
    manifest: { operations: [] },
    jwks: (async () => {
      throw new Error("no tokens in this test");
    }) as any,
  });
  ws = createClient({ url: gw.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
});

afterAll(async () => {
  await ws?.dispose();
  await gw?.stop();
  await h?.stop();
});

describe("redEnvelopeRain subscription through the gateway", () => {
  it("pushes the remaining shares and the last grab (no member id for others)", async () => {
    const now = Date.now();
    const created = await h.gql(
      `mutation($input: RedEnvelopeRainInput!) { adminCreateRedEnvelopeRain(input: $input) { id status } }`,
      {
        input: {
          title: "gateway rain",
          totalAmount: "6.00",
          currency: "CNY",
          shares: 3,
          startsAt: new Date(now - 1000).toISOString(),
          endsAt: new Date(now + 3600_000).toISOString(),
        },
      },
      ADMIN,
    );
    const rainId = created.data.adminCreateRedEnvelopeRain.id;
    const other = (
      await h.sg.services.rain.create(
        {
          title: "other rain",
          totalAmount: "1.00",
          currency: "CNY",
          shares: 1,
          startsAt: new Date(now - 1000).toISOString(),
          endsAt: new Date(now + 3600_000).toISOString(),
        },
        "op",
      )
    ).id;
    const results: any[] = [];
    const errors: unknown[] = [];
    ws.subscribe(
      {
        query: `subscription RedEnvelopeRain($rainId: ID!) { redEnvelopeRain(rainId: $rainId) { remainingShares lastGrab { amount memberId } } }`,
        variables: { rainId },
      },
      { next: (r) => void results.push(r), error: (e) => void errors.push(e), complete: () => undefined },
    );
    // The subscription registers asynchronously: grab once it is live (retry publishing until seen).
    const first = await h.gql(`mutation($r: ID!) { grabRedEnvelope(rainId: $r) { code amount } }`, { r: rainId }, member("sub-1"));
    expect(first.data.grabRedEnvelope.code).toBe("OK");
    await h.sg.services.rain.grab(other, "sub-x"); // another rain's event is not delivered here
    await waitFor(
      async () => {
        if (results.length) return true;
        await h.sg.services.rain.publish(rainId);
        return false;
      },
      "an event through the gateway",
      10_000,
    );
    expect(errors).toEqual([]);
    const payload = results[results.length - 1].data.redEnvelopeRain;
    expect(payload).toEqual({ remainingShares: 2, lastGrab: { amount: first.data.grabRedEnvelope.amount, memberId: null } });
    await h.gql(`mutation($r: ID!) { grabRedEnvelope(rainId: $r) { code } }`, { r: rainId }, member("sub-2"));
    await waitFor(() => results.some((r) => r.data?.redEnvelopeRain?.remainingShares === 1), "the second grab's event");
    expect(results.every((r) => r.data.redEnvelopeRain.remainingShares !== 0)).toBe(true);
  });
});
