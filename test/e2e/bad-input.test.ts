/**
 * The bad-input suite: every contract operation (schema/operations/*.graphql, through the trusted
 * manifest) gets the generated bad variables of ./bad-input.ts, sent through the real gateway to
 * the real stack, as a member (operators' operations as the operator). Every answer must be
 * - no HTTP 5xx, and an oversized body HTTP 413 with BAD_USER_INPUT;
 * - errors only with a documented `extensions.code` (docs/errors.md), never INTERNAL_SERVER_ERROR,
 *   with no internal detail in the message (stack, SQL, Prisma, file paths);
 * - graphql-level bad values refused before anything runs; values graphql lets through refused by
 *   mutations (an error or a result code other than OK);
 * - nothing of another member's objects in any answer;
 * and nothing may be written: the row count of every table of every domain schema, the member's
 * cart, and what the other member sees of their own account, order and inbox are the same after
 * the suite as before. (Bulk mutations taking a list of ids may answer for ids that are not the
 * caller's by ignoring them, as documented — the other member's unchanged state is the check.)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { buildSchema } from "graphql";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { waitFor } from "@mallgraph/platform/testing";
import { casesFor, INTERNAL_DETAIL, type Case } from "./bad-input.ts";
import { startE2E, adminToken, registerMember, type E2E } from "./harness.ts";

const root = path.resolve(import.meta.dirname, "../..");
const manifest = JSON.parse(readFileSync(path.join(root, "schema/operations/manifest.json"), "utf8")) as {
  operations: Array<{ name: string; type: string; body: string }>;
};
const schema = buildSchema(readFileSync(path.join(root, "schema/api.graphql"), "utf8"));
const errorsDoc = readFileSync(path.join(root, "docs/errors.md"), "utf8");
const DOCUMENTED = new Set(
  [...errorsDoc.slice(0, errorsDoc.indexOf("## Result codes")).matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!),
);
// documented, but never a clear answer to bad input: a crash, a service down, a code-less subgraph error, a service-only code
for (const code of ["INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "DOWNSTREAM_SERVICE_ERROR", "SERVICE_NOT_ALLOWED"])
  DOCUMENTED.delete(code);
const GRAPHQL_REFUSALS = new Set(["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"]);
const PASSWORD = "Str0ng-pass!";

interface Answer {
  status: number;
  body: { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  text: string;
}

describe("bad input on every contract operation", () => {
  let e: E2E;
  let db: pg.Client;
  let member: { phone: string; token: string };
  let admin: string;
  let foreignMarkers: string[];
  let cases: Case[];
  let otherState: () => Promise<string>;

  /** Rows per table of every domain schema. */
  async function counts(): Promise<Record<string, number>> {
    const tables = await db.query<{ s: string; t: string }>(
      `select table_schema s, table_name t from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema', 'public') order by 1, 2`,
    );
    const out: Record<string, number> = {};
    for (const { s, t } of tables.rows) out[`${s}.${t}`] = Number((await db.query(`select count(*)::int n from "${s}"."${t}"`)).rows[0].n);
    return out;
  }
  /** Waits until the workers are done with the setup's writes (two equal snapshots a second apart). */
  async function quietCounts(): Promise<Record<string, number>> {
    let last = await counts();
    return waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 1000));
        const now = await counts();
        const same = JSON.stringify(now) === JSON.stringify(last);
        last = now;
        return same ? now : undefined;
      },
      "the database to settle",
      60_000,
    );
  }

  async function send(c: Case): Promise<Answer> {
    const op = manifest.operations.find((o) => o.name === c.operation)!;
    const token = /^(Admin|SentMessages)/.test(c.operation) ? admin : member.token;
    const res = await fetch(e.stack.gatewayUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "apollographql-client-name": "bad-input" },
      body: `{"query":${JSON.stringify(op.body)},"operationName":${JSON.stringify(c.operation)},"variables":${c.rawVariables ?? JSON.stringify(c.variables)}}`,
    });
    const text = await res.text();
    let body: Answer["body"];
    try {
      body = JSON.parse(text);
    } catch {
      body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
    }
    return { status: res.status, body, text };
  }

  /** What is wrong with one answer, or undefined. */
  function judge(c: Case, a: Answer): string | undefined {
    if (a.status >= 500) return `HTTP ${a.status}`;
    const errors = a.body.errors ?? [];
    for (const err of errors) {
      const code = String(err.extensions?.code ?? "none");
      if (!DOCUMENTED.has(code)) return `undocumented or internal code ${code}: ${err.message.slice(0, 200)}`;
      const leak = INTERNAL_DETAIL.find((re) => re.test(err.message));
      if (leak) return `internal detail in the message (${leak}): ${err.message.slice(0, 300)}`;
      if (err.extensions && ("stacktrace" in err.extensions || "exception" in err.extensions)) return "a stack trace in extensions";
    }
    for (const m of foreignMarkers) if (a.text.includes(m)) return `another member's data in the answer (${m})`;
    if (c.kind === "oversized") {
      if (a.status !== 413 || errors[0]?.extensions?.code !== "BAD_USER_INPUT")
        return `expected 413 BAD_USER_INPUT, got ${a.status} ${JSON.stringify(errors[0]?.extensions)}`;
      return undefined;
    }
    if (c.kind === "graphql") {
      if (!errors.length || a.body.data) return `graphql should have refused it: ${a.text.slice(0, 200)}`;
      const code = String(errors[0]!.extensions?.code);
      if (!GRAPHQL_REFUSALS.has(code)) return `refused with ${code}, expected BAD_USER_INPUT or GRAPHQL_VALIDATION_FAILED`;
      return undefined;
    }
    if (c.type === "mutation" && !errors.length && !c.idInList) {
      const value = Object.values(a.body.data ?? {})[0];
      const accepted =
        value !== null &&
        value !== false &&
        value !== 0 &&
        !(typeof value === "object" && typeof value.code === "string" && value.code !== "OK");
      if (accepted) return `accepted: ${JSON.stringify(value).slice(0, 200)}`;
    }
    return undefined;
  }

  beforeAll(async () => {
    e = await startE2E();
    db = new pg.Client({ connectionString: e.cfg.DATABASE_URL });
    await db.connect();
    admin = await adminToken(e);
    member = await registerMember(e, admin, PASSWORD);
    // another member with an address, an order and a payment: their ids are tried everywhere
    const other = await registerMember(e, admin, PASSWORD);
    const api = e.api;
    const secretName = `Bob-Secret-${Date.now()}`;
    const addr = (
      await api.ok(
        "AddAddress",
        { input: { receiver: secretName, phone: other.phone, region: "Shanghai", detail: "99 Hidden Road", isDefault: true } },
        other.token,
      )
    ).addAddress;
    const spuId = (await api.ok("SearchProducts", { query: { keyword: "", first: 5 } })).searchProducts.items[0].spuId;
    const sku = (await api.ok("Product", { id: spuId })).product.skus.find((s: any) => s.stock.available > 3);
    await api.ok("AddToCart", { skuId: sku.id, quantity: 1 }, other.token);
    const placed = (
      await api.ok("PlaceOrder", { input: { fromCart: true, addressId: addr.id, idempotencyKey: "bad-input-other" } }, other.token)
    ).placeOrder;
    const pay = (await api.ok("CreatePayment", { orderId: placed.order.id, channel: "SANDBOX" }, other.token)).createPayment;
    const me = (await api.ok("Me", {}, other.token)).me;
    const mine = (
      await api.ok(
        "AddAddress",
        { input: { receiver: "Ann", phone: member.phone, region: "Beijing", detail: "1 Road", isDefault: true } },
        member.token,
      )
    ).addAddress;
    await api.ok("AddToCart", { skuId: sku.id, quantity: 1 }, member.token);
    foreignMarkers = [secretName, other.phone, "99 Hidden Road"];
    otherState = async () =>
      JSON.stringify([
        (await api.ok("Me", {}, other.token)).me,
        (await api.ok("MyMessages", {}, other.token)).myMessages,
        (await api.ok("Order", { id: placed.order.id }, other.token)).order,
        (await api.ok("Cart", {}, other.token)).cart,
      ]);
    const pool = {
      phone: member.phone,
      recipient: member.phone,
      password: PASSWORD,
      oldpassword: PASSWORD,
      newpassword: "N3w-Str0ng-pass!",
      smscode: "123456",
      username: "admin",
      skuid: sku.id,
      addressid: mine.id,
      quantity: 1,
      keyword: "phone",
      receiver: "Ann",
      region: "Beijing",
      detail: "1 Road",
      channel: "SANDBOX",
      device: "WEB",
    };
    const foreign = { ids: [me.id, addr.id, placed.order.id, pay.payment.id, pay.payment.checkoutRef].filter(Boolean) };
    cases = manifest.operations.filter((o) => o.type !== "subscription").flatMap((o) => casesFor(schema, o.body, pool, foreign));
  }, 300_000);

  afterAll(async () => {
    await db?.end();
    await e?.stop();
  });

  it("refuses every generated case clearly, without a 500, internal detail or a write", async () => {
    const before = await quietCounts();
    const cartBefore = JSON.stringify((await e.api.ok("Cart", {}, member.token)).cart);
    const otherBefore = await otherState();
    const started = Date.now();
    const failures: string[] = [];
    const byKind: Record<string, number> = {};
    const answered: Record<string, number> = {};
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
          const answer = await send(c);
          const code = String(answer.body.errors?.[0]?.extensions?.code ?? (answer.body.data ? "answered" : "none"));
          answered[code] = (answered[code] ?? 0) + 1;
          const problem = judge(c, answer);
          if (problem) failures.push(`${c.operation} ${c.label}: ${problem}`);
        }
      }),
    );
    const after = await quietCounts();
    const written = Object.keys(after)
      .filter((t) => after[t] !== before[t])
      .map((t) => `${t}: ${before[t]} → ${after[t]}`);
    const ops = new Set(cases.map((c) => c.operation)).size;
    console.log(
      `bad input: ${cases.length} cases over ${ops} operations (${JSON.stringify(byKind)}) in ${((Date.now() - started) / 1000).toFixed(1)} s; ${failures.length} failures; tables written: ${written.length}\n  answers by code: ${JSON.stringify(answered)}`,
    );
    expect(failures).toEqual([]);
    expect(written).toEqual([]);
    expect(JSON.stringify((await e.api.ok("Cart", {}, member.token)).cart)).toBe(cartBefore);
    expect(await otherState()).toBe(otherBefore);
  }, 600_000);

  it("refuses bad subscription variables over graphql-ws with a documented code", async () => {
    const subs = manifest.operations.filter((o) => o.type === "subscription");
    const failures: string[] = [];
    for (const o of subs) {
      const subCases = casesFor(schema, o.body, {}, { ids: [] }).filter(
        (c) => c.kind === "graphql" && typeof c.variables === "object" && !c.rawVariables,
      );
      const ws = new WebSocket(e.stack.gatewayUrl.replace(/^http/, "ws"), "graphql-transport-ws");
      const messages: any[] = [];
      ws.on("message", (d) => messages.push(JSON.parse(String(d))));
      await new Promise((r) => ws.on("open", r));
      ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${member.token}` } }));
      await waitFor(async () => messages.some((m) => m.type === "connection_ack") || undefined, "the ack");
      subCases.forEach((c, i) =>
        ws.send(JSON.stringify({ id: String(i), type: "subscribe", payload: { query: o.body, variables: c.variables } })),
      );
      await waitFor(async () => subCases.every((_, i) => messages.some((m) => m.id === String(i))) || undefined, `answers to ${o.name}`);
      subCases.forEach((c, i) => {
        const m = messages.find((x) => x.id === String(i));
        const code = m?.type === "error" ? m.payload?.[0]?.extensions?.code : undefined;
        if (!GRAPHQL_REFUSALS.has(code)) failures.push(`${o.name} ${c.label}: ${JSON.stringify(m).slice(0, 200)}`);
      });
      ws.close();
    }
    expect(failures).toEqual([]);
  });
});
