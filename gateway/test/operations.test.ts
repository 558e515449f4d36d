import { createHash } from "node:crypto";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { buildManifest, validateManifest } from "../../scripts/operations.ts";
import { memberSdl, catalogSdl } from "./helpers.ts";

const supergraph = (extra = "") => {
  const r = composeServices([
    { name: "member", url: "http://127.0.0.1:1/graphql", typeDefs: parse(memberSdl + extra) },
    { name: "catalog", url: "http://127.0.0.1:2/graphql", typeDefs: parse(catalogSdl) },
  ]);
  if (r.errors?.length) throw new Error(r.errors.map((e) => e.message).join("\n"));
  return r.supergraphSdl!;
};

describe("operation manifest (scripts/operations.ts)", () => {
  it("ids are the sha256 of the printed body, fragments included, names unique", () => {
    const m = buildManifest("query A { whoami { ...W } }\nfragment W on Who { kind }\nmutation B { x }");
    expect(m.operations.map((o) => o.name)).toEqual(["A", "B"]);
    // Apollo's persisted-query manifest format
    expect(m.format).toBe("apollo-persisted-query-manifest");
    expect(m.version).toBe(1);
    expect(m.operations.map((o) => o.type)).toEqual(["query", "mutation"]);
    expect(m.operations[0]!.body).toContain("fragment W on Who");
    for (const o of m.operations) expect(o.id).toBe(createHash("sha256").update(o.body).digest("hex"));
    expect(() => buildManifest("query A { a } query A { b }")).toThrow(/duplicate/);
    expect(() => buildManifest("{ a }")).toThrow(/needs a name/);
  });

  it("validates operations against the supergraph and checks the FEvent rule of every subscription", () => {
    const good = buildManifest("query W { whoami { kind } } subscription P($t: ID!) { ping(topic: $t) { id item { name } } }");
    expect(validateManifest(supergraph(), good)).toEqual([]);
    const bad = buildManifest("query X { nope }");
    expect(validateManifest(supergraph("extend type Subscription { orphan(id: ID!): Ping! }"), bad)).toEqual([
      expect.stringMatching(/^X: Cannot query field "nope"/),
      "Subscription.orphan: no Query.orphanEvent(…, eventId: ID!)",
    ]);
  });
});
