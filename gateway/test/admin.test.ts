/**
 * The queue dashboard: Bull Board at /admin/queues behind the operators' login page. A small member
 * subgraph answers adminLogin/logout the way the real one does (a live session in Redis, an EdDSA
 * token verified through its JWKS); the queues are real BullMQ queues under a random prefix.
 */
import { composeServices } from "@apollo/composition";
import { generateSigningKey, sessionKey, type SigningKey } from "@mallgraph/platform/auth";
import { loadConfig } from "@mallgraph/platform/config";
import { AppError, ErrorCode } from "@mallgraph/platform/errors";
import { createQueue, closeQueueConnections, QueueName } from "@mallgraph/platform/queue";
import { noteRevokedSession } from "@mallgraph/platform/revocation";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { createTestRedis, type TestRedis, waitFor } from "@mallgraph/platform/testing";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERMISSIONS } from "../../subgraphs/member/src/permissions.ts";
import { ADMIN_COOKIE, QUEUES_PERMISSION } from "../src/http/admin.ts";
import { createGateway, type RunningGateway } from "../src/index.ts";
import { launchChromium } from "./browser.ts";
import { createRedis, ISSUER, login, SECRET } from "./helpers.ts";

const memberSdl = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type AdminAuthPayload { accessToken: String! refreshToken: String! }
type Query { ping: String }
type Mutation { adminLogin(username: String!, password: String!): AdminAuthPayload! logout: Boolean! }
`;
const OPERATORS: Record<string, { password: string; permissions: string[] }> = {
  ops: { password: "ops-pass-1", permissions: [QUEUES_PERMISSION, "order:write"] },
  clerk: { password: "clerk-pass-1", permissions: ["order:write"] },
};

let tr: TestRedis;
let redis: ReturnType<typeof createRedis>;
let key: SigningKey;
let member: RunningSubgraph;
let gw: RunningGateway;
let origin: string;
const logouts: string[] = [];

beforeAll(async () => {
  tr = createTestRedis();
  redis = createRedis(tr.url);
  key = (await generateSigningKey()).key;
  member = await startSubgraph<any>({
    name: "member",
    typeDefs: memberSdl,
    port: 0,
    internalSecret: SECRET,
    context: (base) => base,
    routes: {
      "GET /.well-known/jwks.json": (_req, _b, res) =>
        void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [key.publicJwk] })),
    },
    resolvers: {
      Query: { ping: () => "pong" },
      Mutation: {
        adminLogin: async (_: unknown, a: { username: string; password: string }) => {
          const op = OPERATORS[a.username];
          if (!op || op.password !== a.password) throw new AppError(ErrorCode.UNAUTHENTICATED, "wrong username or password");
          const { token } = await login(redis, tr.prefix, key, { sub: `op-${a.username}`, realm: "admin", permissions: op.permissions });
          return { accessToken: token, refreshToken: "unused" };
        },
        logout: async (_: unknown, __: unknown, c: any) => {
          logouts.push(c.identity.sessionId);
          await redis.del(sessionKey(tr.prefix, c.identity.sessionId));
          noteRevokedSession(c.identity.sessionId);
          return true;
        },
      },
    },
  });
  const composed = composeServices([{ name: "member", url: member.url, typeDefs: parse(memberSdl) }]);
  if (composed.errors?.length) throw new Error(composed.errors.map((e) => e.message).join("\n"));
  const config = loadConfig({
    NODE_ENV: "test",
    REDIS_PREFIX: tr.prefix,
    INTERNAL_SECRET: SECRET,
    JWT_ISSUER: ISSUER,
    MEMBER_PORT: String(member.port),
    GATEWAY_PORT: "0",
  } as NodeJS.ProcessEnv);
  gw = await createGateway({
    config,
    port: 0,
    host: "127.0.0.1",
    supergraphSdl: composed.supergraphSdl!,
    subgraphUrls: { member: member.url },
    manifest: { operations: [] },
    http: {},
  });
  origin = new URL(gw.url).origin;
});

afterAll(async () => {
  await gw?.stop();
  await member?.stop();
  redis?.disconnect();
  await closeQueueConnections();
  await tr?.cleanup();
});

const form = (username: string, password: string, headers: Record<string, string> = {}) =>
  fetch(`${origin}/admin/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ username, password }).toString(),
  });
const cookieOf = (r: Response) => r.headers.get("set-cookie") ?? "";
const session = (setCookie: string) => setCookie.split(";")[0]!;
const get = (path: string, cookie?: string, init: RequestInit = {}) =>
  fetch(`${origin}${path}`, {
    redirect: "manual",
    ...init,
    headers: { ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) },
  });

describe("queue dashboard (/admin/queues)", () => {
  it("the permission it needs is one the member domain seeds", () => {
    expect(Object.keys(PERMISSIONS)).toContain(QUEUES_PERMISSION);
  });

  it("sends a visitor without a session to the login page, and refuses the API", async () => {
    const r = await get("/admin/queues/");
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/admin/login");
    expect((await get("/admin/queues/api/queues")).status).toBe(401);
    const page = await get("/admin/login");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post" action="/admin/login">');
  });

  it("refuses a wrong password, and an operator without the queues permission (ending the session it opened)", async () => {
    const wrong = await form("ops", "nope");
    expect(wrong.status).toBe(401);
    expect(cookieOf(wrong)).toBe("");
    expect(await wrong.text()).toContain("Wrong username or password.");
    const before = logouts.length;
    const clerk = await form("clerk", "clerk-pass-1");
    expect(clerk.status).toBe(403);
    expect(cookieOf(clerk)).toBe("");
    expect(await clerk.text()).toContain(QUEUES_PERMISSION);
    expect(logouts.length).toBe(before + 1);
  });

  it("lets an operator with the permission in with an HttpOnly, SameSite=Strict cookie and serves Bull Board over real queues", async () => {
    const ok = await form("ops", "ops-pass-1");
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/admin/queues/");
    const set = cookieOf(ok);
    expect(set).toMatch(new RegExp(`^${ADMIN_COOKIE}=[^;]+; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=\\d+$`));
    const cookie = session(set);

    const page = await get("/admin/queues/", cookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<base href="/admin/queues/" />');
    expect(html).not.toContain("fonts.googleapis.com");
    const script = /src="(static\/js\/main[^"]+)"/.exec(html)![1]!;
    expect((await get(`/admin/queues/${script}`, cookie)).headers.get("content-type")).toContain("javascript");
    expect((await get("/admin/queues/static/../../package.json", cookie)).status).toBe(404);

    const q = createQueue({ redisUrl: tr.url, redisPrefix: tr.prefix }, QueueName.messages);
    await q.add("send", { to: "someone" }, { delay: 60_000 });
    const api = await get("/admin/queues/api/queues?activeQueue=message-send&status=delayed&page=1", cookie);
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string; counts: Record<string, number>; jobs: unknown[] }> };
    expect(body.queues.map((x) => x.name).sort()).toEqual(Object.values(QueueName).sort());
    const messages = body.queues.find((x) => x.name === "message-send")!;
    expect(messages.counts.delayed).toBe(1);
    expect(messages.jobs).toHaveLength(1);

    // State-changing calls: refused from another origin, done from the gateway's own.
    const evil = await get("/admin/queues/api/queues/message-send/pause", cookie, {
      method: "PUT",
      headers: { origin: "https://evil.example" },
    });
    expect(evil.status).toBe(403);
    expect(await q.isPaused()).toBe(false);
    const pause = await get("/admin/queues/api/queues/message-send/pause", cookie, { method: "PUT", headers: { origin } });
    expect(pause.status).toBe(200);
    expect(await q.isPaused()).toBe(true);
    await q.resume();

    // Logging out ends the session: the old cookie no longer opens the board.
    const out = await get("/admin/logout", cookie, { method: "POST", headers: { origin } });
    expect(out.status).toBe(303);
    expect(cookieOf(out)).toContain("Max-Age=0");
    await waitFor(async () => (await get("/admin/queues/api/queues", cookie)).status === 401, "the logged-out session refused");
    await q.close();
  });

  it("an operator logs in through the form and sees the board in headless Chromium", async () => {
    const { browser, close } = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${origin}/admin/queues/`);
      expect(new URL(page.url()).pathname).toBe("/admin/login");
      await page.fill('input[name="username"]', "ops");
      await page.fill('input[name="password"]', "ops-pass-1");
      await page.click('button[type="submit"]');
      await page.waitForURL(`${origin}/admin/queues/`);
      await page.getByText("order-timeouts").first().waitFor({ timeout: 20_000 });
      const cookies = await browser.cookies(`${origin}/admin/queues/`);
      expect(cookies.find((c) => c.name === ADMIN_COOKIE)).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/admin" });
    } finally {
      await close();
    }
  });
});
