import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "@mallgraph/platform/config";
import { createTestSchema, type TestSchema } from "@mallgraph/platform/testing";
import { createMemberSubgraph } from "../src/index.ts";

describe("member subgraph boots on a throwaway schema", () => {
  let db: TestSchema;
  let sg: Awaited<ReturnType<typeof createMemberSubgraph>>;
  beforeAll(async () => {
    db = await createTestSchema("member");
    sg = await createMemberSubgraph({ config: loadConfig({} as any), databaseUrl: db.url, port: 0 });
  });
  afterAll(async () => {
    await sg?.stop();
    await db?.drop();
  });
  it("answers a query", async () => {
    await sg.services.prisma.currency.create({ data: { code: "CNY", name: "Yuan", decimals: 2 } });
    const res = await fetch(sg.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ currencies { code decimals } }" }) });
    expect(await res.json()).toEqual({ data: { currencies: [{ code: "CNY", decimals: 2 }] } });
  });
});
