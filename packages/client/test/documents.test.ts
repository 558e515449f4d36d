import { readFileSync } from "node:fs";
import path from "node:path";
import { print, type DocumentNode } from "graphql";
import { describe, expect, it } from "vitest";
import * as client from "../src/index.ts";

const manifest = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../../schema/operations/manifest.json"), "utf8")) as {
  operations: Array<{ name: string; body: string }>;
};

describe("generated typed documents", () => {
  it("has one document per manifest operation, printing to exactly the manifest's body", () => {
    const exports = client as unknown as Record<string, unknown>;
    expect(manifest.operations.length).toBeGreaterThan(30);
    for (const op of manifest.operations) {
      const document = exports[`${op.name}Document`] as DocumentNode | undefined;
      expect(document, `${op.name}Document`).toBeDefined();
      expect(print(document!), op.name).toBe(op.body);
    }
  });

  it("turns a GraphQL error answer into a GraphQLRequestError with the stable codes", async () => {
    const answer = { errors: [{ message: "Sign in first", extensions: { code: "UNAUTHENTICATED" } }] };
    let sent: { query: string; headers: Record<string, string> } | undefined;
    const api = client.createClient({
      url: "http://gateway.invalid/graphql",
      token: () => "t0k3n",
      fetch: (async (_url: string, init: RequestInit) => {
        sent = { query: JSON.parse(String(init.body)).query, headers: init.headers as Record<string, string> };
        return new Response(JSON.stringify(answer), { status: 200 });
      }) as typeof fetch,
    });
    const error = await api.request(client.MeDocument).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(client.GraphQLRequestError);
    expect((error as client.GraphQLRequestError).codes).toEqual(["UNAUTHENTICATED"]);
    expect(sent!.headers.authorization).toBe("Bearer t0k3n");
    expect(sent!.query).toBe(print(client.MeDocument));
  });
});
