/**
 * No free money, in production as anywhere: the member subgraph has no top-up a member may call. A
 * top-up is a payment (payment's `topUpWallet`), and only payment may call member's internal
 * `walletTopUp` once that payment succeeded.
 */
import { productionEnv } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, registerMember, type Harness } from "./helpers.ts";

const WALLET_TOP_UP = `mutation($m: ID!, $c: String!, $a: String!, $k: String!) { walletTopUp(memberId: $m, currency: $c, amount: $a, reference: $k) { code balance } }`;

describe("member subgraph in production", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ workers: true, env: await productionEnv() });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("a member cannot credit their own wallet: walletTopUp is FORBIDDEN to them and the wallet stays untouched", async () => {
    expect(h.config.NODE_ENV).toBe("production");
    const m = await registerMember(h);
    const r = await h.gql(WALLET_TOP_UP, { m: m.memberId, c: "CNY", a: "1000000", k: "free-money" }, m.identity);
    expect(r.data).toBeNull();
    expect(r.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const free = await h.gql(`mutation { topUpWallet(currency: "CNY", amount: "1000000", idempotencyKey: "x") { code } }`, {}, m.identity);
    expect(free.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED"); // no such field in member any more
    const entries = await h.sg.services.prisma.ledgerEntry.count({ where: { account: { memberId: m.memberId } } });
    expect(entries).toBe(0);
    const wallets = await h.ok(`query { me { wallets { currency balance } } }`, {}, m.identity);
    for (const w of wallets.me.wallets) expect(Number(w.balance), w.currency).toBe(0);
  });
});
