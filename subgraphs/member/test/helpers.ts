/**
 * Test harness: a throwaway schema + Redis prefix, the member subgraph on a free port, its workers
 * in-process, and a client that calls the subgraph over HTTP the way the gateway will: a signed
 * identity header, built from a verified access token and a live session.
 */
import { generateSigningKey, readSession, signIdentity, verifyAccessToken, IDENTITY_HEADER, type Identity } from "@mallgraph/platform/auth";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { closeQueueConnections } from "@mallgraph/platform/queue";
import { createTestSchema, createTestRedis, waitFor, type TestSchema, type TestRedis } from "@mallgraph/platform/testing";
import { createRemoteJWKSet } from "jose";
import { createMemberSubgraph } from "../src/index.ts";
import { seed } from "../src/seed.ts";
import type { MemberLottery, MemberOrders } from "../src/services/orders.ts";
import { startWorkers, type MemberWorkerOptions } from "../src/worker.ts";

export type Subgraph = Awaited<ReturnType<typeof createMemberSubgraph>>;

export interface Harness {
  config: Config;
  db: TestSchema;
  redis: TestRedis;
  sg: Subgraph;
  /** POSTs a GraphQL operation with the given identity (anonymous when absent). */
  gql<T = any>(
    query: string,
    variables?: Record<string, unknown>,
    identity?: Identity,
  ): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }>;
  /** Like gql, but throws when there are errors, and returns data. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, identity?: Identity): Promise<T>;
  /** What the gateway does with a bearer token: verify it against the JWKS, check the session is live. */
  identityFromToken(accessToken: string): Promise<Identity | null>;
  /** The last SMS code sent to a phone (waits for the message worker). */
  smsCode(phone: string, nth?: number): Promise<string>;
  close(): Promise<void>;
}

/** Payment, the service that calls the wallet's internal fields (member's caller table). */
export const INTERNAL: Identity = { kind: "internal", service: "payment" };
/** Order, the service that reads memberAddress. */
export const ORDER_SERVICE: Identity = { kind: "internal", service: "order" };

export { waitFor };

/** Where the workers look for promotion unless a test says otherwise: a closed port (never a running dev stack). */
export const NO_PROMOTION_URL = "http://127.0.0.1:9/graphql";

export async function createHarness(
  opts: {
    workers?: boolean | MemberWorkerOptions;
    seed?: boolean;
    env?: Record<string, string>;
    orders?: MemberOrders;
    lottery?: MemberLottery;
  } = {},
): Promise<Harness> {
  const db = await createTestSchema("member");
  const redis = createTestRedis();
  const { privateJwk } = await generateSigningKey();
  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
    PROMOTION_URL: NO_PROMOTION_URL,
    ...opts.env,
  } as any);
  if (opts.seed !== false) await seed(config);
  const sg = await createMemberSubgraph({ config, port: 0, orders: opts.orders, lottery: opts.lottery });
  const stopWorkers = opts.workers ? await startWorkers(config, typeof opts.workers === "object" ? opts.workers : {}) : async () => {};
  const jwks = createRemoteJWKSet(new URL(sg.url.replace("/graphql", "/.well-known/jwks.json")));

  const gql: Harness["gql"] = async (query, variables, identity) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (identity) headers[IDENTITY_HEADER] = signIdentity(config.INTERNAL_SECRET, identity);
    const res = await fetch(sg.url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    return (await res.json()) as any;
  };
  const h: Harness = {
    config,
    db,
    redis,
    sg,
    gql,
    async ok(query, variables, identity) {
      const r = await gql(query, variables, identity);
      if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
      return r.data as any;
    },
    async identityFromToken(token) {
      let claims;
      try {
        claims = await verifyAccessToken(jwks, config.JWT_ISSUER, token);
      } catch {
        return null;
      }
      const s = await readSession(sg.services.redis, config.REDIS_PREFIX, claims.sid);
      if (!s || s.subject !== claims.sub || s.realm !== claims.realm) return null;
      return {
        kind: s.realm,
        id: s.subject,
        sessionId: claims.sid,
        device: s.device,
        permissions: s.realm === "admin" ? s.permissions : undefined,
      };
    },
    async smsCode(phone, nth = 1) {
      const rows = await waitFor(async () => {
        const r = await sg.services.prisma.message.findMany({
          where: { recipient: phone, template: "sms-code" },
          orderBy: { createdAt: "desc" },
        });
        return r.length >= nth ? r : null;
      }, `SMS #${nth} to ${phone}`);
      return /(\d{6})/.exec(rows[0]!.body)![1]!;
    },
    async close() {
      await stopWorkers();
      await sg.stop();
      await closeQueueConnections();
      await redis.cleanup();
      await db.drop();
    },
  };
  return h;
}

let phoneSeq = 0;
/** A fresh valid phone number per call. */
export function newPhone(): string {
  phoneSeq += 1;
  return `13${String(Math.floor(Math.random() * 1e5)).padStart(5, "0")}${String(phoneSeq).padStart(4, "0")}`;
}

export const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken expiresIn member { id phone } } }`;
export const REQUEST_CODE = `mutation($phone: String!) { requestSmsCode(phone: $phone) { ok retryAfterSeconds } }`;

/** Registers a member through the real flow (code through the worker); returns tokens and identity. */
export async function registerMember(h: Harness, opts: { password?: string; device?: string; phone?: string } = {}) {
  const phone = opts.phone ?? newPhone();
  await h.ok(REQUEST_CODE, { phone });
  const smsCode = await h.smsCode(phone);
  const d = await h.ok(REGISTER, { input: { phone, smsCode, password: opts.password ?? null, device: opts.device ?? null } });
  const identity = (await h.identityFromToken(d.register.accessToken))!;
  return {
    phone,
    memberId: d.register.member.id as string,
    accessToken: d.register.accessToken as string,
    refreshToken: d.register.refreshToken as string,
    identity,
  };
}

/** Logs the seeded operator in and returns its gateway identity. */
export async function adminIdentity(h: Harness, username = "admin", password = h.config.ADMIN_PASSWORD): Promise<Identity> {
  const d = await h.ok(
    `mutation($u: String!, $p: String!) { adminLogin(username: $u, password: $p) { accessToken refreshToken operator { id permissions } } }`,
    { u: username, p: password },
  );
  return (await h.identityFromToken(d.adminLogin.accessToken))!;
}

/** A paid top-up as payment delivers it (internal walletTopUp), answered in the shape of the old member mutation. */
/**
 * A withdrawal as payment makes it (decision 0026): the internal walletFreeze of `payout:<key>`, then,
 * the channel having paid it out, walletPayOut of the same reference.
 */
export async function withdraw(h: Harness, m: { memberId: string }, v: { c: string; a: string; k: string }) {
  const op = (f: string) =>
    h.ok(
      `mutation($m: ID!, $c: String!, $a: String!, $k: String!) { ${f}(memberId: $m, currency: $c, amount: $a, reference: $k) { code balance frozen } }`,
      { ...v, k: `payout:${v.k}`, m: m.memberId },
      INTERNAL,
    );
  let r = (await op("walletFreeze")).walletFreeze;
  if (r.code === "OK") r = (await op("walletPayOut")).walletPayOut;
  return {
    withdrawFromWallet: {
      code: r.code as string,
      wallet: { currency: v.c, balance: r.balance as string | null, frozen: r.frozen as string | null },
    },
  };
}

export async function topUp(h: Harness, m: { memberId: string }, v: { c: string; a: string; k: string }) {
  const r = (
    await h.ok(
      `mutation($m: ID!, $c: String!, $a: String!, $k: String!) { walletTopUp(memberId: $m, currency: $c, amount: $a, reference: $k) { code balance frozen } }`,
      { ...v, m: m.memberId },
      INTERNAL,
    )
  ).walletTopUp;
  return {
    topUpWallet: {
      code: r.code as string,
      wallet: { currency: v.c, balance: r.balance as string | null, frozen: r.frozen as string | null },
    },
  };
}
