/**
 * Money, prizes and the member's own data through the REAL stack (every subgraph, the workers and the
 * gateway as processes, seeded demo data):
 * - a draw wins a COUPON award → the coupon is in MyCoupons and PRIZE_DELIVERED arrives on messageReceived;
 * - a top-up paid in the sandbox credits the wallet once (duplicate completions), and a withdrawal is
 *   a payout: frozen, then gone once the sandbox's signed payout callback arrives (decision 0026);
 * - exportMyData carries the member's orders (order) and draws (lottery); closeAccount anonymizes the
 *   member while the order keeps its address snapshot;
 * - a rain of 1,000 grabs against the MARKETING account balances to the cent.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventChannel } from "@mallgraph/platform/events";
import { Decimal } from "@mallgraph/platform/money";
import { createRedis } from "@mallgraph/platform/redis";
import { waitFor } from "@mallgraph/platform/testing";
import { operation, wsClient, type GraphQLHttpClient } from "./client.ts";
import { startE2E, adminToken, pool, registerMember, type E2E } from "./harness.ts";

describe("money, prizes and the member's data through the gateway", () => {
  let e: E2E;
  let api: GraphQLHttpClient;
  let admin: string;
  /** The member of the coupon draw (their data is exported and their account closed below). */
  let drawer: { phone: string; token: string };
  const PASSWORD = "Str0ng-pass!";

  beforeAll(async () => {
    e = await startE2E({ env: { RATE_LIMIT_PER_MINUTE: "60000" }, readyTimeoutMs: 280_000 });
    api = e.api;
    admin = await adminToken(e);
  }, 420_000);
  afterAll(async () => {
    await e?.stop();
  });

  const gql = async (query: string, variables: Record<string, unknown>, token: string) => {
    const r = await api.raw(query, variables, { token });
    if (r.errors?.length) throw new Error(JSON.stringify(r.errors));
    return r.data;
  };
  const cny = async (token: string) =>
    (await api.ok("Me", {}, token)).me.wallets.find((w: any) => w.currency === "CNY") as { balance: string; frozen: string };

  it("a draw wins a COUPON award: the coupon is in MyCoupons and PRIZE_DELIVERED arrives on messageReceived", async () => {
    drawer = await registerMember(e, admin, PASSWORD);
    const template = (
      (await api.ok("AdminCouponTemplates", {}, admin)).adminCouponTemplates as Array<{
        id: string;
        name: string;
        type: string;
        active: boolean;
      }>
    ).find((t) => t.active && t.type !== "NEW_USER")!;
    expect(template).toBeDefined();
    const strategy = (
      await gql(
        `mutation($input: LotteryStrategyInput!) { adminSaveLotteryStrategy(input: $input) { id } }`,
        {
          input: {
            name: "e2e-coupon-wheel",
            fallbackAward: "coupon",
            awards: [{ name: "coupon", kind: "COUPON", couponTemplateId: template.id, rate: "1.0000" }],
          },
        },
        admin,
      )
    ).adminSaveLotteryStrategy;
    const now = Date.now();
    const activity = (
      await gql(
        `mutation($input: LotteryActivityInput!) { adminSaveLotteryActivity(input: $input) { id } }`,
        {
          input: {
            name: "e2e-coupon-activity",
            strategyId: strategy.id,
            state: "ONLINE",
            startsAt: new Date(now - 1000).toISOString(),
            endsAt: new Date(now + 3600_000).toISOString(),
          },
        },
        admin,
      )
    ).adminSaveLotteryActivity;

    const ws = wsClient(e.stack.gatewayUrl, drawer.token);
    const messages: any[] = [];
    ws.subscribe(
      { query: operation("MessageReceived").body },
      { next: (r) => void messages.push(r), error: () => undefined, complete: () => undefined },
    );
    const probe = createRedis(e.cfg.REDIS_URL);
    try {
      await waitFor(
        async () => ((await probe.pubsub("NUMSUB", eventChannel(e.cfg.REDIS_PREFIX, "messageReceived"))) as [string, number])[1] >= 1,
        "the gateway's messageReceived subscription",
      );
    } finally {
      probe.disconnect();
    }
    const draw = (await api.ok("Draw", { activityId: activity.id, idempotencyKey: "e2e-coupon-1" }, drawer.token)).draw;
    expect(draw).toMatchObject({ code: "OK" });
    // lottery's delivery job → promotion grants the coupon (once per draw) → lottery's outbox → member's inbox → the gateway
    const prize = await waitFor(
      async () => messages.find((m) => m.data?.messageReceived?.kind === "PRIZE_DELIVERED"),
      "PRIZE_DELIVERED on messageReceived",
    );
    expect(prize.errors).toBeUndefined();
    await ws.dispose();
    const mine = (await api.ok("MyCoupons", {}, drawer.token)).myCoupons as Array<{ status: string; template: { name: string } }>;
    expect(mine.filter((c) => c.template.name === template.name)).toEqual([expect.objectContaining({ status: "UNUSED" })]);
    const draws = (await api.ok("MyDraws", {}, drawer.token)).myDraws as Array<{ delivery: string; couponId: string | null }>;
    expect(draws).toHaveLength(1);
    expect(draws[0]).toMatchObject({ delivery: "DELIVERED", couponId: expect.any(String) });
  }, 180_000);

  it("a top-up paid in the sandbox credits once; a withdrawal is frozen, paid out by the sandbox and settled once", async () => {
    const m = await registerMember(e, admin);
    const top = (
      await api.ok("TopUpWallet", { currency: "CNY", amount: "66.60", channel: "SANDBOX", idempotencyKey: "e2e-top-1" }, m.token)
    ).topUpWallet;
    expect(top.code).toBe("OK");
    // The buyer's sandbox completion, 20 times at once: the provider calls back each time.
    const done = await Promise.all(
      Array.from({ length: 20 }, () => api.run("SandboxCompletePayment", { checkoutRef: top.payment.checkoutRef }, m.token)),
    );
    expect(done.every((d) => d.errors === undefined)).toBe(true);
    await waitFor(async () => (await cny(m.token)).balance === "66.60", "the top-up credited");
    const ledger = async () =>
      (await api.ok("MyWalletLedger", { currency: "CNY" }, m.token)).myWalletLedger.items as Array<{
        kind: string;
        amount: string;
        reference: string;
      }>;
    expect((await ledger()).filter((x) => x.kind === "TOPUP")).toEqual([
      expect.objectContaining({ amount: "66.60", reference: `topup:${top.payment.id}` }),
    ]);

    const W = `mutation($k: String!) { withdrawFromWallet(currency: "CNY", amount: "16.60", channel: SANDBOX, idempotencyKey: $k) { code payout { id status } } }`;
    const w = (await gql(W, { k: "e2e-wd-1" }, m.token)).withdrawFromWallet;
    expect(w).toMatchObject({ code: "OK", payout: { status: "PENDING" } });
    expect(await cny(m.token)).toMatchObject({ balance: "50.00", frozen: "16.60" });
    await Promise.all(
      Array.from({ length: 20 }, () => gql(`mutation($id: ID!) { sandboxCompletePayout(payoutId: $id) }`, { id: w.payout.id }, m.token)),
    );
    await waitFor(async () => (await cny(m.token)).frozen === "0.00", "the payout settled");
    expect(await cny(m.token)).toMatchObject({ balance: "50.00", frozen: "0.00" });
    expect((await gql(`query($id: ID!) { payout(id: $id) { status } }`, { id: w.payout.id }, m.token)).payout.status).toBe("SUCCEEDED");
    const kinds = (await ledger())
      .filter((x) => x.reference === `payout:${w.payout.id}`)
      .map((x) => x.kind)
      .sort();
    expect(kinds).toEqual(["FREEZE", "WITHDRAW"]);
  }, 180_000);

  it("exportMyData carries the member's orders and draws; closeAccount anonymizes the member, the order keeps its address snapshot", async () => {
    const { phone, token } = drawer;
    const addr = (
      await api.ok("AddAddress", { input: { receiver: "Zhao", phone, region: "Hangzhou", detail: "9 Lake Road", isDefault: true } }, token)
    ).addAddress;
    const spuId = (await api.ok("SearchProducts", { query: { keyword: "", first: 5 } })).searchProducts.items[0].spuId;
    const sku = (await api.ok("Product", { id: spuId }, token)).product.skus.find((s: any) => s.stock.available > 1);
    const placed = (
      await api.ok(
        "PlaceOrder",
        { input: { items: [{ skuId: sku.id, quantity: 1 }], addressId: addr.id, idempotencyKey: "e2e-export-1" } },
        token,
      )
    ).placeOrder;
    expect(placed.code).toBe("OK");
    // An unpaid order is open: closure is refused until it is done with.
    expect((await gql(`mutation($p: String) { closeAccount(password: $p) { code } }`, { p: PASSWORD }, token)).closeAccount.code).toBe(
      "ORDERS_OPEN",
    );
    expect((await api.ok("CancelOrder", { id: placed.order.id }, token)).cancelOrder.code).toBe("OK");

    const data = JSON.parse((await gql(`query { exportMyData }`, {}, token)).exportMyData);
    expect(data.member.phone).toBe(phone);
    expect(data.orders).toEqual([
      expect.objectContaining({
        orderNo: placed.order.orderNo,
        status: "CANCELLED",
        address: expect.objectContaining({ receiver: "Zhao", detail: "9 Lake Road" }),
      }),
    ]);
    expect(data.lottery.draws).toEqual([
      expect.objectContaining({ activity: "e2e-coupon-activity", award: "coupon", delivery: "DELIVERED" }),
    ]);

    const db = new pg.Client({ connectionString: e.cfg.DATABASE_URL.replace(/\?.*$/, "") });
    await db.connect();
    try {
      const snapshot = async () =>
        (await db.query(`SELECT address, "buyerId" FROM "order"."Order" WHERE id = $1`, [placed.order.id])).rows[0];
      const before = await snapshot();
      expect((await gql(`mutation($p: String) { closeAccount(password: $p) { code } }`, { p: PASSWORD }, token)).closeAccount.code).toBe(
        "OK",
      );
      // The member is anonymized and their addresses are gone …
      const member = (
        await db.query(`SELECT id, phone, "closedAt" FROM "member"."Member" WHERE phone = $1 OR id = $2`, [phone, before.buyerId])
      ).rows;
      expect(member).toEqual([
        expect.objectContaining({ id: before.buyerId, phone: `closed:${before.buyerId}`, closedAt: expect.any(Date) }),
      ]);
      expect((await db.query(`SELECT count(*)::int AS n FROM "member"."Address" WHERE "memberId" = $1`, [before.buyerId])).rows[0].n).toBe(
        0,
      );
      // … while the order's own record of the address stays as it was.
      expect(await snapshot()).toEqual(before);
      expect(before.address).toMatchObject({ receiver: "Zhao", phone, region: "Hangzhou", detail: "9 Lake Road" });
    } finally {
      await db.end();
    }
    expect((await api.run("Me", {}, token)).code).toBe("UNAUTHENTICATED");
  }, 180_000);

  it("a rain of 1,000 grabs against the MARKETING account balances to the cent", async () => {
    const SYSTEM = `query { adminSystemAccounts(currency: "CNY") { name balance frozen } }`;
    const marketing = async () =>
      ((await gql(SYSTEM, {}, admin)).adminSystemAccounts as Array<{ name: string; balance: string; frozen: string }>).find(
        (a) => a.name === "MARKETING",
      )!;
    const funded = (
      await gql(
        `mutation { adminFundMarketingAccount(currency: "CNY", amount: "5000.00", reason: "e2e rain budget", idempotencyKey: "e2e-rain-fund") { code } }`,
        {},
        admin,
      )
    ).adminFundMarketingAccount;
    expect(funded.code).toBe("OK");
    const before = await marketing();

    // 1,000 members, registered without a password (no password hashing: the machine is shared).
    const members = await pool(
      Array.from({ length: 1000 }, (_, i) => i),
      8,
      async (i) => {
        const phone = `166${String(i).padStart(8, "0")}`;
        await api.ok("RequestSmsCode", { phone });
        const code = await waitFor(
          async () => /\b(\d{6})\b/.exec((await api.ok("SentMessages", { recipient: phone }, admin)).sentMessages[0]?.body ?? "")?.[1],
          "the SMS code",
        );
        return { token: (await api.ok("Register", { input: { phone, smsCode: code } })).register.accessToken as string };
      },
    );
    const now = Date.now();
    const rain = (
      await api.ok(
        "AdminCreateRedEnvelopeRain",
        {
          input: {
            title: "e2e 1,000 grabs",
            totalAmount: "3333.33",
            currency: "CNY",
            shares: 1200,
            startsAt: new Date(now - 1000).toISOString(),
            endsAt: new Date(now + 3600_000).toISOString(),
          },
        },
        admin,
      )
    ).adminCreateRedEnvelopeRain;
    expect(await marketing()).toEqual({
      name: "MARKETING",
      balance: new Decimal(before.balance).minus("3333.33").toFixed(2),
      frozen: new Decimal(before.frozen).plus("3333.33").toFixed(2),
    });

    const grabs = await pool(members, 32, (m) =>
      api.ok("GrabRedEnvelope", { rainId: rain.id }, m.token).then((d) => d.grabRedEnvelope as { code: string; amount: string }),
    );
    expect(grabs.filter((g) => g.code === "OK")).toHaveLength(1000);
    const grabbed = grabs.reduce((s, g) => s.plus(g.amount), new Decimal(0));
    // Every grab reaches its wallet (member's marketingGrant, a transfer out of the frozen budget).
    await waitFor(
      async () => new Decimal((await marketing()).frozen).equals(new Decimal(before.frozen).plus("3333.33").minus(grabbed)) || undefined,
      "every grab credited",
      240_000,
    );
    const closed = (
      await gql(
        `mutation($id: ID!) { adminCloseRedEnvelopeRain(id: $id) { status grabbedAmount grabbedCount refundAmount } }`,
        { id: rain.id },
        admin,
      )
    ).adminCloseRedEnvelopeRain;
    expect(closed).toMatchObject({ grabbedCount: 1000, grabbedAmount: grabbed.toFixed(2) });
    // grabs + returned = total, to the cent
    expect(grabbed.plus(closed.refundAmount).toFixed(2)).toBe("3333.33");
    const after = await marketing();
    expect(after).toEqual({ name: "MARKETING", balance: new Decimal(before.balance).minus(grabbed).toFixed(2), frozen: before.frozen });

    // The MARKETING ledger shows every movement of the rain: its freeze, 1,000 captures, the release.
    const rows: Array<{ kind: string; amount: string; reference: string }> = [];
    let after_: string | null = null;
    do {
      const page: any = (
        await gql(
          `query($a: String) { adminSystemLedger(account: "MARKETING", currency: "CNY", first: 100, after: $a) { items { kind amount reference } pageInfo { hasNextPage endCursor } } }`,
          { a: after_ },
          admin,
        )
      ).adminSystemLedger;
      rows.push(...page.items);
      after_ = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after_);
    const ofRain = rows.filter((r) => r.reference.includes(rain.id));
    const sum = (kind: string) => ofRain.filter((r) => r.kind === kind).reduce((s, r) => s.plus(r.amount), new Decimal(0));
    expect(ofRain.filter((r) => r.kind === "CAPTURE")).toHaveLength(1000);
    expect(sum("CAPTURE").toFixed(2)).toBe(grabbed.toFixed(2));
    expect(sum("FREEZE").toFixed(2)).toBe("3333.33");
    expect(sum("UNFREEZE").toFixed(2)).toBe(new Decimal(closed.refundAmount).toFixed(2));
    // Each member's wallet holds exactly their grab.
    const sample = await pool(members.slice(0, 50), 10, (m) => cny(m.token));
    sample.forEach((w, i) => expect(w.balance).toBe(new Decimal(grabs[i]!.amount).toFixed(2)));
  }, 900_000);
});
