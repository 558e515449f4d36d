/** Operators save strategies and activities; bad input is refused with nothing written. */
import { outboxAuditEntries } from "@mallgraph/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, member, startHarness, type Harness } from "./harness.ts";

const SAVE_STRATEGY = `mutation($input: LotteryStrategyInput!) { adminSaveLotteryStrategy(input: $input) { id name awards { id name kind points } } }`;
const SAVE_ACTIVITY = `mutation($input: LotteryActivityInput!) { adminSaveLotteryActivity(input: $input) { id name state pointsPerDraw awards { name } } }`;
const DRAW = `mutation($a: ID!, $k: String!) { draw(activityId: $a, idempotencyKey: $k) { code award { name } } }`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  await h?.stop();
});

const good = () => ({
  name: "wheel",
  awards: [
    { name: "thanks", kind: "NONE", rate: "0.5000" },
    { name: "points", kind: "POINTS", points: 20, rate: "0.5000", stock: 5, lockAfterDraws: 0 },
  ],
  fallbackAward: "thanks",
  blacklistAward: "thanks",
  blacklist: ["bad-guy"],
  weightRules: [{ minPointsSpent: 500, awards: ["points"] }],
});

describe("admin strategies and activities", () => {
  it("saves a strategy and an activity members can draw in; saving again updates by name", async () => {
    const s = await h.gql(SAVE_STRATEGY, { input: good() }, ADMIN);
    expect(s.errors).toBeUndefined();
    expect(s.data.adminSaveLotteryStrategy.awards.map((a: any) => a.name)).toEqual(["thanks", "points"]);
    const input = {
      name: "spring",
      strategyId: s.data.adminSaveLotteryStrategy.id,
      state: "ONLINE",
      startsAt: new Date(Date.now() - 1000).toISOString(),
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
      quotaDay: 2,
      pointsPerDraw: 50,
    };
    const a = await h.gql(SAVE_ACTIVITY, { input }, ADMIN);
    expect(a.errors).toBeUndefined();
    expect(a.data.adminSaveLotteryActivity).toMatchObject({ name: "spring", state: "ONLINE", pointsPerDraw: 50 });
    const d = await h.gql(DRAW, { a: a.data.adminSaveLotteryActivity.id, k: "1" }, member("m1"));
    expect(d.data.draw.code).toBe("OK");
    expect((await h.gql(DRAW, { a: a.data.adminSaveLotteryActivity.id, k: "1" }, member("bad-guy"))).data.draw.award.name).toBe("thanks");
    // Saving again: same ids; an award left out can no longer be won.
    const again = await h.gql(
      SAVE_STRATEGY,
      { input: { ...good(), awards: [{ name: "thanks", kind: "NONE", rate: "1.0000" }], weightRules: [] } },
      ADMIN,
    );
    expect(again.data.adminSaveLotteryStrategy.id).toBe(s.data.adminSaveLotteryStrategy.id);
    const rows = await h.sg.services.prisma.award.findMany({ where: { strategyId: s.data.adminSaveLotteryStrategy.id } });
    expect(rows.find((r) => r.name === "points")!.rate.toString()).toBe("0");
    for (let i = 2; i < 4; i++)
      expect((await h.gql(DRAW, { a: a.data.adminSaveLotteryActivity.id, k: String(i) }, member(`m${i}`))).data.draw.award.name).toBe(
        "thanks",
      );
    const a2 = await h.gql(SAVE_ACTIVITY, { input: { ...input, state: "CLOSED" } }, ADMIN);
    expect(a2.data.adminSaveLotteryActivity.id).toBe(a.data.adminSaveLotteryActivity.id);
    expect((await h.gql(DRAW, { a: a.data.adminSaveLotteryActivity.id, k: "x" }, member("m9"))).data.draw.code).toBe("NOT_ONLINE");
  });

  it("bad strategies and activities are BAD_USER_INPUT and write nothing", async () => {
    const before = [
      await h.sg.services.prisma.strategy.count(),
      await h.sg.services.prisma.award.count(),
      await h.sg.services.prisma.activity.count(),
    ];
    const g = good();
    const badStrategies = [
      { ...g, name: "bad-1", awards: [{ ...g.awards[0], rate: "0.4000" }, g.awards[1]] }, // sums to 0.9
      { ...g, name: "bad-2", awards: [{ ...g.awards[0], rate: "0.49995" }, g.awards[1]] }, // 5 decimals
      { ...g, name: "bad-3", awards: [g.awards[0], { ...g.awards[1], points: 0 }] }, // POINTS without points
      { ...g, name: "bad-4", fallbackAward: "nope" },
      { ...g, name: "bad-5", fallbackAward: "points" }, // fallback with stock
      { ...g, name: "bad-6", awards: [g.awards[0], { ...g.awards[1], stock: -2 }] },
      { ...g, name: "bad-7", weightRules: [{ minPointsSpent: 0, awards: ["points"] }] },
      { ...g, name: "bad-8", awards: [g.awards[0], { ...g.awards[0] }] }, // duplicate name
      { ...g, name: "" },
    ];
    for (const input of badStrategies) {
      const r = await h.gql(SAVE_STRATEGY, { input }, ADMIN);
      expect(r.errors?.[0]?.extensions?.code, input.name).toBe("BAD_USER_INPUT");
    }
    const s = (await h.gql(SAVE_STRATEGY, { input: { ...g, name: "ok-strategy" } }, ADMIN)).data.adminSaveLotteryStrategy;
    const act = {
      name: "bad-activity",
      strategyId: s.id,
      state: "ONLINE",
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 1000).toISOString(),
    };
    for (const input of [
      { ...act, endsAt: act.startsAt },
      { ...act, startsAt: "soon" },
      { ...act, strategyId: "nope" },
      { ...act, quotaDay: -1 },
      { ...act, name: " " },
    ]) {
      const r = await h.gql(SAVE_ACTIVITY, { input }, ADMIN);
      expect(r.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe("BAD_USER_INPUT");
    }
    expect([
      await h.sg.services.prisma.strategy.count(),
      await h.sg.services.prisma.award.count(),
      await h.sg.services.prisma.activity.count(),
    ]).toEqual([before[0]! + 1, before[1]! + 2, before[2]]);
  });

  it("needs lottery:write", async () => {
    expect(
      (await h.gql(SAVE_STRATEGY, { input: good() }, { kind: "admin", id: "op-9", permissions: ["lottery:read"] })).errors?.[0]?.extensions
        ?.code,
    ).toBe("FORBIDDEN");
    expect((await h.gql(SAVE_STRATEGY, { input: good() }, member("m1"))).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("operators list strategies and take members off a blacklist", () => {
  const LIST = `query { adminLotteryStrategies(first: 100) { id name blacklist createdAt awards { name } } }`;
  const REMOVE = `mutation($s: ID!, $m: [ID!]!) { adminRemoveLotteryBlacklistEntries(strategyId: $s, memberIds: $m) { id name blacklist } }`;

  it("lists saved strategies newest first with their blacklist; a removed member draws normally again", async () => {
    const s = (
      await h.gql(
        SAVE_STRATEGY,
        {
          input: {
            ...good(),
            name: "listed-wheel",
            awards: [
              { name: "thanks", kind: "NONE", rate: "0.0001" },
              { name: "points", kind: "POINTS", points: 5, rate: "0.9999" },
            ],
            blacklist: ["black-1", "black-2", "black-3"],
            weightRules: [],
          },
        },
        ADMIN,
      )
    ).data.adminSaveLotteryStrategy;
    const list = (await h.gql(LIST, {}, ADMIN)).data.adminLotteryStrategies;
    expect(list[0]).toMatchObject({
      id: s.id,
      name: "listed-wheel",
      blacklist: ["black-1", "black-2", "black-3"],
      awards: [{ name: "thanks" }, { name: "points" }],
    });
    const a = (
      await h.gql(
        SAVE_ACTIVITY,
        {
          input: {
            name: "listed-activity",
            strategyId: s.id,
            state: "ONLINE",
            startsAt: new Date(Date.now() - 1000).toISOString(),
            endsAt: new Date(Date.now() + 3600_000).toISOString(),
          },
        },
        ADMIN,
      )
    ).data.adminSaveLotteryActivity;
    expect((await h.gql(DRAW, { a: a.id, k: "b1" }, member("black-1"))).data.draw.award.name).toBe("thanks");
    // Removing: listed and unlisted ids together; the unlisted one is ignored.
    const r = await h.gql(REMOVE, { s: s.id, m: ["black-1", "black-3", "never-listed"] }, ADMIN);
    expect(r.data.adminRemoveLotteryBlacklistEntries).toEqual({ id: s.id, name: "listed-wheel", blacklist: ["black-2"] });
    expect((await h.gql(DRAW, { a: a.id, k: "b2" }, member("black-1"))).data.draw.award.name).toBe("points");
    expect((await h.gql(DRAW, { a: a.id, k: "b2" }, member("black-2"))).data.draw.award.name).toBe("thanks");
    // An operator without lottery:read is not shown who is blacklisted.
    const writer = await h.gql(REMOVE, { s: s.id, m: ["never-listed"] }, { kind: "admin", id: "op-8", permissions: ["lottery:write"] });
    expect(writer.data.adminRemoveLotteryBlacklistEntries.blacklist).toBeNull();
    // the audit trail (decision 0024): who took whom off, the deleted blacklist rows as they were
    const removed = (await outboxAuditEntries(h.sg.services.prisma, "adminRemoveLotteryBlacklistEntries")).filter(
      (e) => (e.args as { strategyId: string }).strategyId === s.id,
    );
    expect(removed.map((e) => [e.service, e.actorId])).toEqual([
      ["lottery", ADMIN.id],
      ["lottery", "op-8"],
    ]);
    expect(
      removed[0]!.changes
        .filter((c) => c.op === "delete")
        .map((c) => [(c.before as { memberId: string }).memberId, c.after])
        .sort(),
    ).toEqual([
      ["black-1", null],
      ["black-3", null],
    ]);
    expect(removed[1]!.changes).toEqual([]);
  });

  it("bad input, unknown strategies and missing permissions change nothing", async () => {
    const s = (await h.gql(SAVE_STRATEGY, { input: { ...good(), name: "kept-wheel", blacklist: ["keep-1"] } }, ADMIN)).data
      .adminSaveLotteryStrategy;
    const codeOf = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;
    expect(codeOf(await h.gql(REMOVE, { s: s.id, m: [] }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(codeOf(await h.gql(REMOVE, { s: s.id, m: [""] }, ADMIN))).toBe("BAD_USER_INPUT");
    expect(codeOf(await h.gql(REMOVE, { s: "no-such-strategy", m: ["keep-1"] }, ADMIN))).toBe("NOT_FOUND");
    expect(codeOf(await h.gql(REMOVE, { s: s.id, m: ["keep-1"] }, { kind: "admin", id: "op-9", permissions: ["lottery:read"] }))).toBe(
      "FORBIDDEN",
    );
    expect(codeOf(await h.gql(LIST, {}, { kind: "admin", id: "op-9", permissions: ["lottery:write"] }))).toBe("FORBIDDEN");
    expect(codeOf(await h.gql(LIST, {}, member("m1")))).toBe("UNAUTHENTICATED");
    expect(await h.sg.services.prisma.strategyBlacklist.count({ where: { strategyId: s.id } })).toBe(1);
  });
});

describe("coupon templates in use (internal, promotion asks before deactivating one)", () => {
  it("names the templates COUPON awards of live activities grant; closed or past activities do not count", async () => {
    const Q = `query($ids: [ID!]!) { lotteryCouponTemplatesInUse(templateIds: $ids) }`;
    const internal = { kind: "internal" as const, service: "promotion" };
    const strategy = (name: string, template: string) => ({
      name,
      fallbackAward: "thanks",
      awards: [
        { name: "thanks", kind: "NONE", rate: "0.5000" },
        { name: "coupon", kind: "COUPON", couponTemplateId: template, rate: "0.5000" },
      ],
    });
    const save = async (name: string, template: string, activity: Record<string, unknown>) => {
      const s = (await h.gql(SAVE_STRATEGY, { input: strategy(name, template) }, ADMIN)).data.adminSaveLotteryStrategy;
      const a = await h.gql(
        SAVE_ACTIVITY,
        {
          input: {
            name: `${name}-activity`,
            strategyId: s.id,
            startsAt: new Date(Date.now() - 3600_000).toISOString(),
            endsAt: new Date(Date.now() + 3600_000).toISOString(),
            ...activity,
          },
        },
        ADMIN,
      );
      expect(a.errors).toBeUndefined();
    };
    await save("live-wheel", "tpl-live", { state: "ONLINE" });
    await save("draft-wheel", "tpl-draft", { state: "DRAFT" });
    await save("closed-wheel", "tpl-closed", { state: "CLOSED" });
    const past = (await h.gql(SAVE_STRATEGY, { input: strategy("past-wheel", "tpl-past") }, ADMIN)).data.adminSaveLotteryStrategy;
    await h.sg.services.prisma.activity.create({
      data: {
        name: "past-activity",
        strategyId: past.id,
        state: "ONLINE",
        startsAt: new Date(Date.now() - 7200_000),
        endsAt: new Date(Date.now() - 3600_000),
      },
    });
    const r = await h.gql(Q, { ids: ["tpl-live", "tpl-draft", "tpl-closed", "tpl-past", "tpl-none"] }, internal);
    expect(r.data.lotteryCouponTemplatesInUse).toEqual(["tpl-draft", "tpl-live"]);
    expect((await h.gql(Q, { ids: ["tpl-live"] }, ADMIN)).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    // A COUPON award must name its template, a GOODS award its SKU; both are shown on the award.
    const missing = await h.gql(
      SAVE_STRATEGY,
      {
        input: {
          name: "no-template",
          fallbackAward: "thanks",
          awards: [
            { name: "thanks", kind: "NONE", rate: "0.5000" },
            { name: "coupon", kind: "COUPON", rate: "0.5000" },
          ],
        },
      },
      ADMIN,
    );
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "couponTemplateId" });
    const noSku = await h.gql(
      SAVE_STRATEGY,
      {
        input: {
          name: "no-sku",
          fallbackAward: "thanks",
          awards: [
            { name: "thanks", kind: "NONE", rate: "0.5000" },
            { name: "phone", kind: "GOODS", rate: "0.5000" },
          ],
        },
      },
      ADMIN,
    );
    expect(noSku.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "skuId" });
    const shown = await h.gql(
      `mutation($input: LotteryStrategyInput!) { adminSaveLotteryStrategy(input: $input) { awards { name couponTemplateId skuId } } }`,
      {
        input: {
          name: "both",
          fallbackAward: "thanks",
          awards: [
            { name: "thanks", kind: "NONE", rate: "0.5000" },
            { name: "coupon", kind: "COUPON", couponTemplateId: "tpl-x", rate: "0.2500" },
            { name: "phone", kind: "GOODS", skuId: "sku-x", rate: "0.2500" },
          ],
        },
      },
      ADMIN,
    );
    expect(shown.data.adminSaveLotteryStrategy.awards).toEqual([
      { name: "thanks", couponTemplateId: null, skuId: null },
      { name: "coupon", couponTemplateId: "tpl-x", skuId: null },
      { name: "phone", couponTemplateId: null, skuId: "sku-x" },
    ]);
  });
});
