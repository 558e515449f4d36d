/** The points history: newest first, paged, the caller's own only. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { member, startHarness, type Harness } from "./harness.ts";

const HISTORY = `query($f: Int, $a: String) { myPointsHistory(first: $f, after: $a) { items { id delta reason reference createdAt } pageInfo { hasNextPage endCursor } } }`;
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe("points history", () => {
  it("lists earnings and spendings newest first, page by page", async () => {
    const p = h.sg.services.points;
    for (let i = 1; i <= 5; i++) await p.earn("hist", i * 10, `earn ${i}`, `hist-earn-${i}`);
    expect((await p.spend("hist", 25, "exchange", "hist-spend-1")).code).toBe("OK");
    const seen: Array<[number, string]> = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const r: any = (await h.gql(HISTORY, { f: 2, a: after }, member("hist"))).data.myPointsHistory;
      seen.push(...r.items.map((i: { delta: number; reference: string }) => [i.delta, i.reference] as [number, string]));
      if (!r.pageInfo.hasNextPage) break;
      after = r.pageInfo.endCursor;
    }
    expect(seen).toEqual([
      [-25, "hist-spend-1"],
      [50, "hist-earn-5"],
      [40, "hist-earn-4"],
      [30, "hist-earn-3"],
      [20, "hist-earn-2"],
      [10, "hist-earn-1"],
    ]);
    expect((await h.gql(HISTORY, {}, member("nobody-else"))).data.myPointsHistory).toEqual({
      items: [],
      pageInfo: { hasNextPage: false, endCursor: null },
    });
    expect((await h.gql(HISTORY, { a: "nope" }, member("hist"))).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await h.gql(HISTORY, { f: 101 }, member("hist"))).errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect((await h.gql(HISTORY, {})).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});
