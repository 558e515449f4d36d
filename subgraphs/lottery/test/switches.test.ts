/**
 * Degrade and limit switches (seed 003): a degraded activity answers the fallback award without
 * touching stock; the draws-per-second limit holds over all instances (a Redis counter per second),
 * both read on every draw so a change is in force at once.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, member, startHarness, type Harness } from "./harness.ts";

const DAY = 24 * 3600_000;
const SWITCH = `mutation($a: ID!, $d: Boolean, $r: Int) { adminSetLotteryActivitySwitches(activityId: $a, degraded: $d, drawsPerSecond: $r) { degraded drawsPerSecond } }`;

let h: Harness;

async function activity() {
  const name = `sw-${randomUUID()}`;
  const s = await h.sg.services.setup.saveStrategy({
    name,
    awards: [
      { name: "thanks", kind: "NONE", rate: "0.0000" },
      { name: "prize", kind: "POINTS", points: 7, rate: "1.0000", stock: 5 },
    ],
    fallback: "thanks",
  });
  const a = await h.sg.services.setup.saveActivity({
    name,
    strategyId: s.id,
    startsAt: new Date(Date.now() - DAY),
    endsAt: new Date(Date.now() + DAY),
  });
  return { a, prize: s.awards.find((x) => x.name === "prize")! };
}

beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  await h?.stop();
});

describe("switches", () => {
  it("degraded: 20 parallel draws all get the fallback, stock untouched; switched back, the prize is drawn again", async () => {
    const { a, prize } = await activity();
    expect((await h.gql(SWITCH, { a: a.id, d: true }, ADMIN)).data.adminSetLotteryActivitySwitches).toEqual({
      degraded: true,
      drawsPerSecond: 0,
    });
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => h.sg.services.draws.draw(`dg-${i}`, a.id, "k")));
    expect(rs.map((r) => [r.code, r.award!.name, r.rule])).toEqual(Array.from({ length: 20 }, () => ["OK", "thanks", "degraded"]));
    const stock = await h.sg.services.redis.get(h.sg.services.draws.stockKey(prize.id));
    expect(stock === null || stock === "5").toBe(true);
    await h.gql(SWITCH, { a: a.id, d: false }, ADMIN);
    const r = await h.sg.services.draws.draw("after", a.id, "k");
    expect(r.award!.name).toBe("prize");
    expect(await h.sg.services.redis.get(h.sg.services.draws.stockKey(prize.id))).toBe("4");
  });

  it("drawsPerSecond: 60 parallel draws in one second with a limit of 5 → exactly 5 drawn (quota taken 5 times), 55 RATE_LIMITED", async () => {
    const { a } = await activity();
    await h.gql(SWITCH, { a: a.id, r: 5 }, ADMIN);
    const draws = h.sg.services.draws;
    const real = draws.now;
    const second = Math.floor(Date.now() / 1000) * 1000 + 500;
    try {
      draws.now = () => second;
      const rs = await Promise.all(Array.from({ length: 60 }, (_, i) => draws.draw(`rl-${i}`, a.id, "k")));
      expect(rs.filter((x) => x.code === "OK").length).toBe(5);
      expect(rs.filter((x) => x.code === "RATE_LIMITED").length).toBe(55);
      expect(await h.sg.services.prisma.participationOrder.count({ where: { activityId: a.id } })).toBe(5);
      // The next second has room again.
      draws.now = () => second + 1000;
      expect((await draws.draw("rl-next", a.id, "k")).code).toBe("OK");
      // No limit: all pass.
      await h.gql(SWITCH, { a: a.id, r: 0 }, ADMIN);
      draws.now = () => second + 2000;
      const free = await Promise.all(Array.from({ length: 20 }, (_, i) => draws.draw(`free-${i}`, a.id, "k")));
      expect(free.every((x) => x.code === "OK")).toBe(true);
    } finally {
      draws.now = real;
    }
    expect((await h.gql(SWITCH, { a: a.id, r: -1 }, ADMIN)).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await h.gql(SWITCH, { a: randomUUID(), d: true }, ADMIN)).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect((await h.gql(SWITCH, { a: a.id, d: true }, member("x"))).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
