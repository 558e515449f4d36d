/** With NODE_ENV=production the free wallet top-up is refused (a top-up must be a real payment). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { productionEnv } from "@mallgraph/platform/testing";
import { createHarness, registerMember, type Harness } from "./helpers.ts";

const TOPUP = `mutation($c: String!, $a: String!, $k: String!) { topUpWallet(currency: $c, amount: $a, idempotencyKey: $k) { code wallet { balance } } }`;

describe("member subgraph in production", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ workers: true, env: await productionEnv() });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("refuses topUpWallet with TOP_UP_DISABLED and writes nothing; the member's wallet is untouched", async () => {
    expect(h.config.NODE_ENV).toBe("production");
    const m = await registerMember(h);
    const r = await h.gql(TOPUP, { c: "CNY", a: "1000000", k: "free-money" }, m.identity);
    expect(r.data).toBeNull();
    expect(r.errors?.[0]?.extensions?.code).toBe("TOP_UP_DISABLED");
    const entries = await h.sg.services.prisma.ledgerEntry.count({ where: { account: { memberId: m.memberId } } });
    expect(entries).toBe(0);
    const wallets = await h.ok(`query { me { wallets { currency balance } } }`, {}, m.identity);
    for (const w of wallets.me.wallets) expect(Number(w.balance), w.currency).toBe(0);
  });
});
