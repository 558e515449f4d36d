/**
 * Coupons on real PostgreSQL: templates, claims (total and per-user limits under parallel claims),
 * NEW_USER issuance, lock / release / consume for orders (idempotent, exclusive), validity.
 */
import { signIdentity } from "@mallgraph/platform/auth";
import { loadConfig } from "@mallgraph/platform/config";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { createTestRedis, createTestSchema, outboxAuditEntries, type TestRedis, type TestSchema } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLotterySubgraph } from "../../lottery/src/index.ts";
import { createPromotionSubgraph } from "../src/index.ts";
import { newUserIssueKey } from "../src/services/coupons.ts";
import type { CatalogPort } from "../src/services/ports.ts";
import { startWorkers } from "../src/worker.ts";
import { admin, clientFor, waitFor, type Gql } from "./support/env.ts";

/**
 * Catalog as far as coupon templates need it (their scope checks): two SPUs selling in CNY and
 * one category tree. The scopes' effect on prices is tested with the real catalog
 * (campaigns.test.ts, order-coupons.test.ts) and in the pricing table (pricing.test.ts).
 */
const scopeCatalog: CatalogPort = {
  async spuScopes(ids) {
    return ids.map((id) => (id.startsWith("spu-") ? { spuId: id, categoryIds: ["cat-leaf", "cat-root"], currencies: ["CNY"] } : null));
  },
  async categoryIds() {
    return new Set(["cat-leaf", "cat-root"]);
  },
  skuSnapshots: () => Promise.reject(new Error("not in this test")),
  reserve: () => Promise.reject(new Error("not in this test")),
  release: () => Promise.reject(new Error("not in this test")),
  confirm: () => Promise.reject(new Error("not in this test")),
  returnSold: () => Promise.reject(new Error("not in this test")),
};

const CREATE = `mutation($input: CouponTemplateInput!) { adminCreateCouponTemplate(input: $input) { id name type threshold amount rate cap scope totalQuantity issuedCount perUserLimit } }`;
const CLAIM = `mutation($t: ID!) { claimCoupon(templateId: $t) { code coupon { id status template { name } } } }`;
const MINE = `query { myCoupons { id status discount template { name type threshold amount } } }`;
const LOCK = `mutation($m: ID!, $c: ID!, $o: ID!, $d: String!, $cur: String!) {
  couponLock(memberId: $m, couponId: $c, orderId: $o, discount: $d, currency: $cur) { code discount reason } }`;
const RELEASE = `mutation($o: ID!) { couponRelease(orderId: $o) }`;
const CONSUME = `mutation($o: ID!) { couponConsume(orderId: $o) }`;
const NEW_USER = `mutation($m: ID!) { couponIssueNewUser(memberId: $m) }`;
const INTERNAL = { kind: "internal" as const, service: "order" };
const MEMBER_SERVICE = { kind: "internal" as const, service: "member" };
const LOTTERY_SERVICE = { kind: "internal" as const, service: "lottery" };

describe("coupons", () => {
  let db: TestSchema;
  let lotteryDb: TestSchema;
  // the REAL lottery subgraph: promotion asks it which templates live awards grant
  let lottery: Awaited<ReturnType<typeof createLotterySubgraph>>;
  let redis: TestRedis;
  let sg: Awaited<ReturnType<typeof createPromotionSubgraph>>;
  let call: Gql;
  let config: ReturnType<typeof loadConfig>;
  beforeAll(async () => {
    db = await createTestSchema("promotion");
    redis = createTestRedis();
    config = loadConfig({ REDIS_PREFIX: redis.prefix, REDIS_URL: redis.url, NODE_ENV: "test" } as any);
    lotteryDb = await createTestSchema("lottery");
    lottery = await createLotterySubgraph({ config, databaseUrl: lotteryDb.url, port: 0 });
    sg = await createPromotionSubgraph({
      config: { ...config, LOTTERY_URL: lottery.url },
      databaseUrl: db.url,
      port: 0,
      ports: { catalog: scopeCatalog },
    });
    call = clientFor(sg.url, config.INTERNAL_SECRET);
  });
  afterAll(async () => {
    await sg?.stop();
    await lottery?.stop();
    await closeQueueConnections();
    await redis?.cleanup();
    await db?.drop();
    await lotteryDb?.drop();
  });
  const later = (days: number) => new Date(Date.now() + days * 86400_000).toISOString();
  const template = async (input: Record<string, unknown>) => {
    const r = await call(CREATE, { input: { currency: "CNY", validDays: 7, totalQuantity: 100, perUserLimit: 1, ...input } }, admin());
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.adminCreateCouponTemplate;
  };
  const claim = async (who: string, t: string) => {
    const r = await call(CLAIM, { t }, who);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.claimCoupon;
  };
  const lock = async (m: string, c: string, o: string, d: string, extra: Record<string, unknown> = {}) =>
    (await call(LOCK, { m, c, o, d, cur: "CNY", ...extra }, INTERNAL)).data.couponLock;

  it("templates: the four types; bad input refused and nothing written; operators only", async () => {
    const fr = await template({ name: "满100减20", type: "FULL_REDUCTION", threshold: "100", amount: "20" });
    expect(fr).toMatchObject({ type: "FULL_REDUCTION", threshold: "100.00", amount: "20.00", rate: null, scope: "ALL", issuedCount: 0 });
    expect(await template({ name: "85折", type: "DISCOUNT", threshold: "50", rate: "0.85", cap: "30" })).toMatchObject({
      rate: "0.85",
      cap: "30.00",
      amount: null,
    });
    expect(await template({ name: "立减5", type: "NO_THRESHOLD", amount: "5" })).toMatchObject({ threshold: "0.00", amount: "5.00" });
    expect(
      await template({ name: "新人券", type: "NEW_USER", amount: "10", validFrom: later(-1), validTo: later(30), validDays: null }),
    ).toMatchObject({ type: "NEW_USER" });
    const count = () => sg.services.prisma.couponTemplate.count();
    const before = await count();
    const bad: Array<Record<string, unknown>> = [
      { name: "x", type: "FULL_REDUCTION", threshold: "20", amount: "20" },
      { name: "x", type: "FULL_REDUCTION", threshold: "100", amount: "20.001" },
      { name: "x", type: "DISCOUNT", rate: "1.5" },
      { name: "x", type: "DISCOUNT", rate: "0.8", amount: "3" },
      { name: "x", type: "NO_THRESHOLD", amount: "5", threshold: "10" },
      { name: "x", type: "NO_THRESHOLD", amount: "5", currency: "XXX" },
      { name: "x", type: "NO_THRESHOLD", amount: "5", validDays: 0 },
      { name: "x", type: "NO_THRESHOLD", amount: "5", validDays: null, validFrom: later(2), validTo: later(1) },
      { name: "x", type: "NO_THRESHOLD", amount: "5", perUserLimit: 101 },
      { name: "x", type: "NO_THRESHOLD", amount: "5", scope: "SPUS" },
      { name: " ", type: "NO_THRESHOLD", amount: "5" },
    ];
    for (const b of bad)
      expect(
        (await call(CREATE, { input: { currency: "CNY", validDays: 7, totalQuantity: 100, perUserLimit: 1, ...b } }, admin())).errors?.[0]
          ?.extensions?.code,
        JSON.stringify(b),
      ).toBe("BAD_USER_INPUT");
    const input = { name: "x", type: "NO_THRESHOLD", amount: "5", currency: "CNY", validDays: 7, totalQuantity: 1, perUserLimit: 1 };
    expect((await call(CREATE, { input }, "member-1")).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await call(CREATE, { input }, admin(["order:write"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(await count()).toBe(before);
  });

  it("300 members claim in parallel against 50 coupons: exactly 50; one member's 20 parallel claims against a limit of 2: exactly 2", async () => {
    const t = await template({ name: "抢券", type: "NO_THRESHOLD", amount: "3", totalQuantity: 50, perUserLimit: 2 });
    const r = await Promise.all(Array.from({ length: 300 }, (_, i) => claim(`c-${i}`, t.id)));
    expect(r.filter((x) => x.code === "OK").length).toBe(50);
    expect(r.filter((x) => x.code === "SOLD_OUT").length).toBe(250);
    const p = sg.services.prisma;
    expect((await p.couponTemplate.findUniqueOrThrow({ where: { id: t.id } })).issuedCount).toBe(50);
    expect(await p.coupon.count({ where: { templateId: t.id } })).toBe(50);
    // refused claims left no per-user count behind
    expect(await p.couponClaimCount.aggregate({ where: { templateId: t.id }, _sum: { count: true } })).toEqual({ _sum: { count: 50 } });

    const u = await template({ name: "限领2张", type: "NO_THRESHOLD", amount: "3", totalQuantity: 1000, perUserLimit: 2 });
    const mine = await Promise.all(Array.from({ length: 20 }, () => claim("hoarder", u.id)));
    expect(mine.filter((x) => x.code === "OK").length).toBe(2);
    expect(mine.filter((x) => x.code === "LIMIT_REACHED").length).toBe(18);
    expect(await p.coupon.count({ where: { templateId: u.id, memberId: "hoarder" } })).toBe(2);
    expect((await p.couponTemplate.findUniqueOrThrow({ where: { id: u.id } })).issuedCount).toBe(2);
    expect((await call(CLAIM, { t: "no-such" }, "hoarder")).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await call(CLAIM, { t: u.id })).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("NEW_USER coupons are issued once at registration, never claimed; myCoupons lists them", async () => {
    const nu = (await sg.services.prisma.couponTemplate.findFirstOrThrow({ where: { type: "NEW_USER" } })).id;
    expect(await claim("newbie", nu)).toEqual({ code: "NOT_CLAIMABLE", coupon: null });
    const issued = await Promise.all(Array.from({ length: 5 }, () => call(NEW_USER, { m: "newbie" }, MEMBER_SERVICE)));
    expect(issued.reduce((s, r) => s + r.data.couponIssueNewUser, 0)).toBe(1);
    // one coupon per member and template, under its issue key (a re-delivered job grants nothing)
    expect(await sg.services.coupons.issueNewUser("newbie")).toBe(0);
    expect((await sg.services.prisma.coupon.findMany({ where: { memberId: "newbie" } })).map((c) => c.issueKey)).toEqual([
      newUserIssueKey("newbie", nu),
    ]);
    expect((await call(NEW_USER, { m: "newbie" }, "newbie")).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const list = (await call(MINE, {}, "newbie")).data.myCoupons;
    expect(list).toEqual([
      {
        id: expect.any(String),
        status: "UNUSED",
        discount: null,
        template: { name: "新人券", type: "NEW_USER", threshold: "0.00", amount: "10.00" },
      },
    ]);
  });

  it("lock / release / consume: ownership, currency, one order per coupon, exclusive under races, idempotent", async () => {
    const fr = await template({ name: "满100减20 B", type: "FULL_REDUCTION", threshold: "100", amount: "20" });
    const dc = await template({ name: "85折 B", type: "DISCOUNT", threshold: "0", rate: "0.85", cap: "30" });
    const c1 = (await claim("buyer", fr.id)).coupon.id;
    const c2 = (await claim("buyer", dc.id)).coupon.id;
    expect(await lock("someone-else", c1, "o-1", "20.00")).toMatchObject({ code: "COUPON_UNAVAILABLE", reason: "NOT_FOUND" });
    expect(await lock("buyer", "no-such-coupon", "o-1", "20.00")).toMatchObject({ code: "COUPON_UNAVAILABLE", reason: "NOT_FOUND" });
    expect(await lock("buyer", c1, "o-1", "20.00", { cur: "USD" })).toMatchObject({ code: "COUPON_UNAVAILABLE", reason: "CURRENCY" });
    // the discount is the one the order's quote gave (promotionPrice with this coupon)
    expect(await lock("buyer", c2, "o-2", "15.00")).toEqual({ code: "OK", discount: "15.00", reason: null });
    expect(await call(RELEASE, { o: "o-2" }, INTERNAL)).toEqual({ data: { couponRelease: true } });
    expect(await lock("buyer", c2, "o-2b", "30.00")).toEqual({ code: "OK", discount: "30.00", reason: null });
    // ten orders race for one coupon: exactly one gets it; repeats of the winner answer OK again
    const race = await Promise.all(Array.from({ length: 10 }, (_, i) => lock("buyer", c1, `race-${i}`, "20.00")));
    const winners = race.map((r, i) => (r.code === "OK" ? `race-${i}` : null)).filter(Boolean);
    expect(winners.length).toBe(1);
    expect(race.find((r) => r.code === "OK")!.discount).toBe("20.00");
    expect(await lock("buyer", c1, winners[0]!, "20.00")).toEqual({ code: "OK", discount: "20.00", reason: null });
    expect(await lock("buyer", c1, "late", "20.00")).toMatchObject({ code: "COUPON_UNAVAILABLE", reason: "LOCKED" });
    // one coupon per order
    const c4 = (await claim("buyer", (await template({ name: "立减1", type: "NO_THRESHOLD", amount: "1" })).id)).coupon.id;
    expect(await lock("buyer", c4, winners[0]!, "1.00")).toMatchObject({ code: "COUPON_UNAVAILABLE", reason: "ORDER_HAS_COUPON" });
    // consume (paid) is idempotent; a used coupon is neither released nor locked again
    expect((await call(CONSUME, { o: winners[0] }, INTERNAL)).data.couponConsume).toBe(true);
    expect((await call(CONSUME, { o: winners[0] }, INTERNAL)).data.couponConsume).toBe(true);
    expect((await call(RELEASE, { o: winners[0] }, INTERNAL)).data.couponRelease).toBe(true);
    expect(await lock("buyer", c1, "again", "20.00")).toMatchObject({ code: "COUPON_UNAVAILABLE", reason: "USED" });
    expect((await call(CONSUME, { o: "no-coupon-order" }, INTERNAL)).data.couponConsume).toBe(false);
    const statuses = Object.fromEntries(
      (await call(MINE, {}, "buyer")).data.myCoupons.map((c: { id: string; status: string; discount: string | null }) => [
        c.id,
        [c.status, c.discount],
      ]),
    );
    expect(statuses[c1]).toEqual(["USED", "20.00"]);
    expect(statuses[c2]).toEqual(["LOCKED", "30.00"]);
    expect(statuses[c4]).toEqual(["UNUSED", null]);
    expect((await call(LOCK, { m: "buyer", c: c4, o: "x", d: "1.00", cur: "CNY" }, "buyer")).errors?.[0]?.extensions?.code).toBe(
      "FORBIDDEN",
    );
    for (const d of ["abc", "0", "-1", "1.001"])
      expect((await call(LOCK, { m: "buyer", c: c4, o: "x", d, cur: "CNY" }, INTERNAL)).errors?.[0]?.extensions?.code, d).toBe(
        "BAD_USER_INPUT",
      );
    expect((await call(MINE, {}, "buyer")).data.myCoupons.find((c: { id: string }) => c.id === c4)).toMatchObject({
      status: "UNUSED",
      discount: null,
    });
  });

  it("scoped templates: CATEGORIES / SPUS ids are checked against catalog; the Coupon entity resolves for its owner only", async () => {
    expect((await template({ name: "类目券", type: "NO_THRESHOLD", amount: "3", scope: "CATEGORIES", scopeIds: ["cat-root"] })).scope).toBe(
      "CATEGORIES",
    );
    const count = () => sg.services.prisma.couponTemplate.count();
    const before = await count();
    for (const extra of [
      { scope: "CATEGORIES", scopeIds: ["cat-nope"] },
      { scope: "SPUS", scopeIds: ["not-an-spu"] },
      { scope: "SPUS", scopeIds: [] },
    ]) {
      const r = await call(
        CREATE,
        {
          input: {
            currency: "CNY",
            validDays: 7,
            totalQuantity: 100,
            perUserLimit: 1,
            name: "x",
            type: "NO_THRESHOLD",
            amount: "1",
            ...extra,
          },
        },
        admin(),
      );
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(extra)).toBe("BAD_USER_INPUT");
    }
    expect(await count()).toBe(before);
    const t = await template({ name: "SPU券", type: "NO_THRESHOLD", amount: "8", scope: "SPUS", scopeIds: ["spu-1"] });
    const c = (await claim("owner", t.id)).coupon.id;
    const ENTITY = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Coupon { id status template { name scope scopeIds } } } }`;
    const r = [{ __typename: "Coupon", id: c }];
    expect((await call(ENTITY, { r }, "owner")).data._entities).toEqual([
      { id: c, status: "UNUSED", template: { name: "SPU券", scope: "SPUS", scopeIds: ["spu-1"] } },
    ]);
    expect((await call(ENTITY, { r }, "not-the-owner")).data._entities).toEqual([null]);
    expect((await call(ENTITY, { r: [{ __typename: "Coupon", id: "nope" }] }, "owner")).data._entities).toEqual([null]);
  });

  it("operators list (active or not), edit (name, validity, quantity up only) and deactivate templates; issued coupons stay usable; TEMPLATE_IN_USE while a live lottery award grants it", async () => {
    const LIST = `query { adminCouponTemplates { id name type scope active issuedCount totalQuantity } }`;
    const EDIT = `mutation($id: ID!, $input: CouponTemplateUpdateInput!) { adminUpdateCouponTemplate(id: $id, input: $input) { id name validFrom validTo validDays totalQuantity active } }`;
    const ACTIVE = `mutation($id: ID!, $a: Boolean!) { adminSetCouponTemplateActive(id: $id, active: $a) { id active } }`;
    const GRANT = `mutation($m: ID!, $t: ID!, $r: String!) { couponGrant(memberId: $m, templateId: $t, reference: $r) { code } }`;
    const fixed = await template({
      name: "双11券",
      type: "NO_THRESHOLD",
      amount: "5",
      validDays: null,
      validFrom: later(-1),
      validTo: later(10),
      totalQuantity: 2,
      perUserLimit: 1,
    });
    const rolling = await template({ name: "7天券", type: "NO_THRESHOLD", amount: "3", validDays: 7, totalQuantity: 5 });
    // edits: name, dates in their mode, quantity up only; bad edits change nothing
    const e = (await call(EDIT, { id: fixed.id, input: { name: "双11大促券", validTo: later(20), totalQuantity: 3 } }, admin())).data
      .adminUpdateCouponTemplate;
    expect(e).toMatchObject({ name: "双11大促券", validDays: null, totalQuantity: 3, active: true });
    expect(new Date(e.validTo).getTime()).toBeGreaterThan(Date.now() + 19 * 86400_000);
    for (const [id, input, reason] of [
      [fixed.id, { totalQuantity: 2 }, "QUANTITY_CAN_ONLY_GROW"],
      [fixed.id, { validDays: 3 }, undefined],
      [fixed.id, { validTo: later(-5) }, undefined],
      [fixed.id, { validFrom: later(30) }, undefined],
      [rolling.id, { validTo: later(3) }, undefined],
      [rolling.id, { validDays: 0 }, undefined],
      [rolling.id, { name: " " }, undefined],
    ] as const) {
      const r = await call(EDIT, { id, input }, admin());
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe("BAD_USER_INPUT");
      if (reason) expect(r.errors?.[0]?.extensions?.reason).toBe(reason);
    }
    expect((await call(EDIT, { id: "nope", input: { name: "x" } }, admin())).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await call(EDIT, { id: rolling.id, input: { name: "x" } }, "a-member")).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect((await call(EDIT, { id: rolling.id, input: { validDays: 14 } }, admin())).data.adminUpdateCouponTemplate).toMatchObject({
      name: "7天券",
      validDays: 14,
      totalQuantity: 5,
    });
    // the grown quantity can be claimed: 3 members get one each
    const c = (await claim("keeper", fixed.id)).coupon.id;
    expect((await claim("k2", fixed.id)).code).toBe("OK");
    expect((await claim("k3", fixed.id)).code).toBe("OK");
    expect((await claim("k4", fixed.id)).code).toBe("SOLD_OUT");
    // deactivated: listed for operators, not for members; no claims, no grants; the issued coupon still prices
    expect((await call(ACTIVE, { id: rolling.id, a: false }, admin())).data.adminSetCouponTemplateActive).toEqual({
      id: rolling.id,
      active: false,
    });
    expect((await call(ACTIVE, { id: rolling.id, a: false }, admin())).data.adminSetCouponTemplateActive).toEqual({
      id: rolling.id,
      active: false,
    });
    expect((await call(LIST, {}, admin())).data.adminCouponTemplates.find((t: { id: string }) => t.id === rolling.id)).toMatchObject({
      name: "7天券",
      active: false,
      issuedCount: 0,
      totalQuantity: 5,
    });
    expect((await call(`query { couponTemplates { id } }`)).data.couponTemplates.map((t: { id: string }) => t.id)).not.toContain(
      rolling.id,
    );
    expect((await claim("late", rolling.id)).code).toBe("NOT_CLAIMABLE");
    expect((await call(GRANT, { m: "late", t: rolling.id, r: "draw-x" }, LOTTERY_SERVICE)).data.couponGrant.code).toBe("NOT_CLAIMABLE");
    expect((await call(ACTIVE, { id: fixed.id, a: false }, admin())).data.adminSetCouponTemplateActive.active).toBe(false);
    const q = await sg.services.pricing.quote({
      memberId: "keeper",
      currency: "CNY",
      lines: [{ skuId: "s", spuId: "spu-1", unitPrice: "20.00", quantity: 1 }],
      couponId: c,
    });
    expect(q.coupon).toEqual({ couponId: c, name: "双11大促券", discount: "5.00" });
    expect((await call(ACTIVE, { id: fixed.id, a: true }, admin())).data.adminSetCouponTemplateActive.active).toBe(true);
    // a live lottery activity whose COUPON award grants the template: TEMPLATE_IN_USE, nothing changes
    const lp = lottery.services.prisma;
    const strategy = await lp.strategy.create({ data: { name: `wheel-${fixed.id}`, fallbackAwardId: "none" } });
    await lp.award.create({ data: { strategyId: strategy.id, name: "券", kind: "COUPON", reference: fixed.id, rate: "1.0000" } });
    const activity = await lp.activity.create({
      data: {
        name: `act-${fixed.id}`,
        strategyId: strategy.id,
        state: "ONLINE",
        startsAt: new Date(Date.now() - 3600_000),
        endsAt: new Date(Date.now() + 3600_000),
      },
    });
    const inUse = await call(ACTIVE, { id: fixed.id, a: false }, admin());
    expect(inUse.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT", reason: "TEMPLATE_IN_USE" });
    expect((await sg.services.prisma.couponTemplate.findUniqueOrThrow({ where: { id: fixed.id } })).active).toBe(true);
    // once the activity is closed it can be deactivated
    await lp.activity.update({ where: { id: activity.id }, data: { state: "CLOSED" } });
    expect((await call(ACTIVE, { id: fixed.id, a: false }, admin())).data.adminSetCouponTemplateActive.active).toBe(false);
    expect((await call(ACTIVE, { id: "nope", a: false }, admin())).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await call(ACTIVE, { id: fixed.id, a: false }, admin(["order:read"]))).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    // the audit trail (decision 0024): the one edit that went through, with the template before and after;
    // the refused edits (BAD_USER_INPUT, NOT_FOUND, UNAUTHENTICATED) and the refused deactivations wrote nothing
    const edits = (await outboxAuditEntries(sg.services.prisma, "adminUpdateCouponTemplate")).filter((x) => x.targetId === fixed.id);
    expect(edits).toHaveLength(1);
    expect(edits[0]).toMatchObject({ service: "promotion", actorKind: "admin", targetType: "CouponTemplate" });
    const [edit] = edits[0]!.changes as Array<{ before: any; after: any }>;
    expect([edit!.before.name, edit!.after.name, edit!.before.totalQuantity, edit!.after.totalQuantity]).toEqual([
      "双11券",
      "双11大促券",
      2,
      3,
    ]);
    const toggles = (await outboxAuditEntries(sg.services.prisma, "adminSetCouponTemplateActive")).filter((x) => x.targetId === fixed.id);
    expect(toggles.map((x) => (x.changes as Array<{ before: any; after: any }>).map((c) => [c.before.active, c.after.active]))).toEqual([
      [[true, false]],
      [[false, true]],
      [[true, false]],
    ]);
  });

  it("deactivation is refused while lottery cannot be asked", async () => {
    const offline = await createPromotionSubgraph({
      config: { ...config, LOTTERY_URL: "http://127.0.0.1:1/graphql" },
      databaseUrl: db.url,
      port: 0,
      ports: { catalog: scopeCatalog },
    });
    try {
      const t = await template({ name: "离线券", type: "NO_THRESHOLD", amount: "1" });
      const r = await clientFor(offline.url, config.INTERNAL_SECRET)(
        `mutation($id: ID!) { adminSetCouponTemplateActive(id: $id, active: false) { active } }`,
        { id: t.id },
        admin(),
      );
      expect(r.errors?.[0]?.extensions?.code).toBe("SERVICE_UNAVAILABLE");
      expect((await sg.services.prisma.couponTemplate.findUniqueOrThrow({ where: { id: t.id } })).active).toBe(true);
    } finally {
      await offline.stop();
    }
  });

  it("validity: fixed dates end claims; an expired coupon reads EXPIRED and cannot be locked", async () => {
    const t = await template({ name: "短券", type: "NO_THRESHOLD", amount: "2", validDays: 1 });
    const c = (await claim("late-buyer", t.id)).coupon.id;
    await sg.services.prisma.coupon.update({ where: { id: c }, data: { validTo: new Date(Date.now() - 1000) } });
    expect((await call(MINE, {}, "late-buyer")).data.myCoupons[0].status).toBe("EXPIRED");
    expect(await lock("late-buyer", c, "o-exp", "2.00")).toMatchObject({ code: "COUPON_UNAVAILABLE", reason: "EXPIRED" });
    const fixed = await template({
      name: "限时券",
      type: "NO_THRESHOLD",
      amount: "2",
      validDays: null,
      validFrom: later(-2),
      validTo: later(1),
    });
    await sg.services.prisma.couponTemplate.update({ where: { id: fixed.id }, data: { validTo: new Date(Date.now() - 1000) } });
    expect(await claim("late-buyer", fixed.id)).toEqual({ code: "EXPIRED", coupon: null });
  });

  it("grants (lottery awards …) are idempotent per reference; scheduled issuance runs as a job within the limits; retries issue nothing twice", async () => {
    const GRANT = `mutation($m: ID!, $t: ID!, $r: String!) { couponGrant(memberId: $m, templateId: $t, reference: $r) { code coupon { id } } }`;
    const t = await template({ name: "抽奖券", type: "NO_THRESHOLD", amount: "6", totalQuantity: 3, perUserLimit: 3 });
    const g = await Promise.all(Array.from({ length: 10 }, () => call(GRANT, { m: "winner", t: t.id, r: "draw-1" }, LOTTERY_SERVICE)));
    expect(new Set(g.map((x) => x.data.couponGrant.coupon.id)).size).toBe(1);
    expect(g.every((x) => x.data.couponGrant.code === "OK")).toBe(true);
    expect(await sg.services.prisma.coupon.count({ where: { templateId: t.id } })).toBe(1);
    expect((await call(GRANT, { m: "other", t: t.id, r: "draw-1" }, LOTTERY_SERVICE)).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await call(GRANT, { m: "winner", t: t.id, r: "draw-2" }, "winner")).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const SCHEDULE = `mutation($t: ID!, $m: [ID!]!, $at: String) { adminScheduleCouponIssuance(templateId: $t, memberIds: $m, at: $at) { id memberCount runAt } }`;
    expect((await call(SCHEDULE, { t: t.id, m: [] }, admin())).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await call(SCHEDULE, { t: "nope", m: ["a"] }, admin())).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await call(SCHEDULE, { t: t.id, m: ["a"] }, "a")).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const stop = await startWorkers(config, { databaseUrl: db.url, ordersOnly: true });
    try {
      const at = new Date(Date.now() + 300).toISOString();
      const r = (await call(SCHEDULE, { t: t.id, m: ["s-1", "s-2", "s-3", "s-1"], at }, admin())).data.adminScheduleCouponIssuance;
      expect(r).toMatchObject({ memberCount: 3, runAt: at });
      const job = await waitFor(async () => {
        const j = await sg.services.couponQueue.getJob(r.id);
        // read the job again once it is completed: a snapshot taken before may lack its return value
        return j && (await j.isCompleted()) ? await sg.services.couponQueue.getJob(r.id) : null;
      }, "the issuance job");
      // 3 in total: one went to the grant above, so two of the three members get one
      expect(job.returnvalue).toEqual({ OK: 2, SOLD_OUT: 1 });
      expect(await sg.services.prisma.coupon.count({ where: { templateId: t.id } })).toBe(3);
      // a retried job (same batch) issues nothing twice
      expect(await sg.services.coupons.issueBatch(r.id, t.id, ["s-1", "s-2", "s-3"])).toEqual({ OK: 2, SOLD_OUT: 1 });
      expect(await sg.services.prisma.coupon.count({ where: { templateId: t.id } })).toBe(3);
    } finally {
      await stop();
    }
  });

  it("best coupon: the usable one saving the most on the given total", async () => {
    const BEST = `query($t: String!, $c: String!, $s: [ID!]) { myBestCoupon(itemsTotal: $t, currency: $c, spuIds: $s) { discount coupon { id template { name } } } }`;
    for (const [name, input] of [
      ["满200减30", { type: "FULL_REDUCTION", threshold: "200", amount: "30" }],
      ["9折封顶25", { type: "DISCOUNT", threshold: "0", rate: "0.9", cap: "25" }],
      ["立减4", { type: "NO_THRESHOLD", amount: "4" }],
      ["SPU立减50", { type: "NO_THRESHOLD", amount: "50", scope: "SPUS", scopeIds: ["spu-x"] }],
    ] as const) {
      const id = (await template({ name, ...input })).id;
      expect((await claim("picky", id)).code).toBe("OK");
    }
    const best = async (t: string, s: string[] = []) => (await call(BEST, { t, c: "CNY", s }, "picky")).data.myBestCoupon;
    expect(await best("30.00")).toMatchObject({ discount: "4.00", coupon: { template: { name: "立减4" } } });
    expect(await best("150.00")).toMatchObject({ discount: "15.00", coupon: { template: { name: "9折封顶25" } } });
    expect(await best("250.00")).toMatchObject({ discount: "30.00", coupon: { template: { name: "满200减30" } } });
    expect(await best("250.00", ["spu-x"])).toMatchObject({ discount: "50.00", coupon: { template: { name: "SPU立减50" } } });
    expect((await call(BEST, { t: "10.00", c: "USD" }, "picky")).data.myBestCoupon).toBeNull();
    expect((await call(BEST, { t: "1.001", c: "CNY" }, "picky")).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
  });

  describe("service identities (decision 0017)", () => {
    const raw = (header: string, query: string, variables: Record<string, unknown> = {}) =>
      fetch(sg.url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-mg-identity": header },
        body: JSON.stringify({ query, variables }),
      });

    it("a service calling an internal field its table does not give it is refused with SERVICE_NOT_ALLOWED", async () => {
      const t = await template({ name: "table-check", type: "NO_THRESHOLD", amount: "1" });
      const c = (await call(CLAIM, { t: t.id }, "table-buyer")).data.claimCoupon.coupon.id;
      // only order may lock, release or consume a coupon; only member issues NEW_USER coupons; only lottery grants
      for (const [who, q, v] of [
        [LOTTERY_SERVICE, LOCK, { m: "table-buyer", c, o: "o-table", d: "1.00", cur: "CNY" }],
        [MEMBER_SERVICE, RELEASE, { o: "o-table" }],
        [{ kind: "internal" as const, service: "cart" }, CONSUME, { o: "o-table" }],
        [INTERNAL, NEW_USER, { m: "table-buyer" }],
        [
          INTERNAL,
          `mutation($m: ID!, $t: ID!, $r: String!) { couponGrant(memberId: $m, templateId: $t, reference: $r) { code } }`,
          { m: "table-buyer", t: t.id, r: "not-order-s" },
        ],
      ] as const) {
        const r = await call(q, v, who);
        expect(r.errors?.[0]?.extensions?.code, `${who.service} ${q.slice(0, 40)}`).toBe("SERVICE_NOT_ALLOWED");
        expect(r.errors?.[0]?.message).toMatch(new RegExp(`service ${who.service} may not call`));
      }
      // nothing was locked by the refused call: order can still lock it
      expect((await lock("table-buyer", c, "o-table", "1.00")).code).toBe("OK");
    });

    it("an internal caller cannot use an admin field (services hold no operator permission)", async () => {
      const r = await call(
        CREATE,
        {
          input: {
            currency: "CNY",
            validDays: 7,
            totalQuantity: 1,
            perUserLimit: 1,
            name: "by-a-service",
            type: "NO_THRESHOLD",
            amount: "1",
          },
        },
        INTERNAL,
      );
      expect(r.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      expect(r.data?.adminCreateCouponTemplate ?? null).toBeNull();
    });

    // (headers live 5 s, platform.test.ts; the test runner stretches that to 60 s, hence 61 s here)
    it("an expired or replayed identity header is refused (401, UNAUTHENTICATED, the reason named)", async () => {
      const q = `mutation($o: ID!) { couponRelease(orderId: $o) }`;
      const header = signIdentity(config.INTERNAL_SECRET, INTERNAL, { requestId: "replay-test" });
      const first = await raw(header, q, { o: "o-replay" });
      expect(first.status).toBe(200);
      expect((await first.json()).data.couponRelease).toBeDefined();
      const again = await raw(header, q, { o: "o-replay" });
      expect(again.status).toBe(401);
      expect(await again.json()).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED", reason: "replayed" } }] });
      const stale = await raw(signIdentity(config.INTERNAL_SECRET, INTERNAL, { now: Date.now() - 61_000 }), q, { o: "o-replay" });
      expect(stale.status).toBe(401);
      expect(await stale.json()).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED", reason: "expired" } }] });
      // a member's identity signed by a service (not the gateway) is refused as well
      const claimed = await raw(
        signIdentity(config.INTERNAL_SECRET, { kind: "admin", id: "x", permissions: ["coupon:write"] }, { signer: "order" }),
        q,
        { o: "o-replay" },
      );
      expect((await claimed.json()).errors[0].extensions.reason).toBe("identity-not-allowed");
    });
  });
});

describe("promotion seed", () => {
  it("is idempotent and leaves issued counts alone", async () => {
    const { seedPromotion } = await import("../src/seed.ts");
    const db = await createTestSchema("promotion");
    const { PrismaClient } = await import("../src/generated/prisma/client.ts");
    const { runtimeAdapter } = await import("@mallgraph/platform/prisma");
    const prisma = new PrismaClient({ adapter: runtimeAdapter(db.url) });
    try {
      expect(await seedPromotion(prisma)).toBe("4 coupon templates");
      await prisma.couponTemplate.update({ where: { id: "demo-no-threshold" }, data: { issuedCount: 3 } });
      expect(await seedPromotion(prisma)).toBe("4 coupon templates");
      expect(await prisma.couponTemplate.count()).toBe(4);
      expect((await prisma.couponTemplate.findUniqueOrThrow({ where: { id: "demo-no-threshold" } })).issuedCount).toBe(3);
      expect((await prisma.couponTemplate.findMany({ select: { type: true } })).map((t) => t.type).sort()).toEqual([
        "DISCOUNT",
        "FULL_REDUCTION",
        "NEW_USER",
        "NO_THRESHOLD",
      ]);
    } finally {
      await prisma.$disconnect();
      await db.drop();
    }
  });
});
