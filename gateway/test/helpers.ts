/**
 * A small real federation for the gateway's tests: two in-process subgraphs ("member" serving a
 * JWKS, identity echo, errors, a live-event field; "catalog" resolving Item through @key) composed
 * with @apollo/composition, a real Redis with a random prefix, tokens signed with a test key.
 */
import { composeServices } from "@apollo/composition";
import { asGatewayEvent } from "@mallgraph/platform/access";
import { accessAudience, generateSigningKey, sessionKey, signAccessToken, type Identity, type SigningKey } from "@mallgraph/platform/auth";
import { loadConfig, type Config } from "@mallgraph/platform/config";
import { AppError, ErrorCode } from "@mallgraph/platform/errors";
import { createRedis, type Redis } from "@mallgraph/platform/redis";
import { noteRevokedSession } from "@mallgraph/platform/revocation";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";
import { createTestRedis, TEST_REDIS_URL, type TestRedis } from "@mallgraph/platform/testing";
import { GraphQLError, parse } from "graphql";
import { SignJWT } from "jose";
import { createGateway, type GatewayOptions, type RunningGateway } from "../src/index.ts";

export const SECRET = "test-internal-secret-0123456789";
export const ISSUER = "mallgraph-test";

export const memberSdl = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@tag"])
type Who { kind: String! id: String service: String sessionId: String device: String permissions: [String!]! mgHeaders: [String!]! }
type Node { value: Int child: Node }
type Item @key(fields: "id", resolvable: false) { id: ID! }
type Ping { id: ID! topic: ID! item: Item! }
type Query {
  whoami: Who!
  revokeSession(sid: String!): Boolean!
  boom: String
  refuse: String
  domainRefusal: String
  deep: Node
  slow(ms: Int!): String
  items(first: Int): [Item!]!
  pingEvent(topic: ID!, eventId: ID!): Ping
  myPingEvent(eventId: ID!): Ping
}
type Subscription { ping(topic: ID!): Ping! myPing: Ping! @tag(name: "signed-in") }
type Mutation { bump(by: Int!): Int! bumpThenRefuse(by: Int!): Int }
`;

/** What the member test subgraph's mutations added up (each call counts, refused or not). */
export const bumps = { total: 0 };

export const catalogSdl = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Item @key(fields: "id") { id: ID! name: String! }
enum CacheControlScope { PUBLIC PRIVATE }
directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
type Query { catalogPing: String catalogCounter: Int! @cacheControl(maxAge: 30) catalogUncached: Int! catalogMine: String! @cacheControl(maxAge: 30, scope: PRIVATE) }
`;

export const cartSdl = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query { cartPing: String }
`;

export interface EventCall {
  eventId: string;
  identity: Identity;
}

export interface TestFederation {
  key: SigningKey;
  member: RunningSubgraph;
  catalog: RunningSubgraph;
  cart: RunningSubgraph;
  supergraphSdl: string;
  eventCalls: EventCall[];
  restartCart: () => Promise<void>;
  stop: () => Promise<void>;
}

const deepNode = (n: number): any => (n <= 0 ? { value: 0, child: null } : { value: n, child: deepNode(n - 1) });

let catalogCounter = 0;

export async function startFederation(): Promise<TestFederation> {
  const { key } = await generateSigningKey();
  const eventCalls: EventCall[] = [];
  const ctx = (base: any, req: any) => ({ ...base, headers: req.headers });
  const member = await startSubgraph<any>({
    name: "member",
    typeDefs: memberSdl,
    port: 0,
    internalSecret: SECRET,
    context: ctx,
    routes: {
      "GET /.well-known/jwks.json": (_req, _b, res) => {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [key.publicJwk] }));
      },
    },
    resolvers: {
      Query: {
        revokeSession: (_: unknown, a: { sid: string }) => {
          noteRevokedSession(a.sid);
          return true;
        },
        whoami: (_: unknown, __: unknown, c: any) => ({
          ...c.identity,
          permissions: c.identity.permissions ?? [],
          mgHeaders: Object.keys(c.headers).filter((h) => h.startsWith("x-mg-")),
        }),
        boom: () => {
          throw new Error("database password leaked in this message");
        },
        refuse: () => {
          throw new AppError(ErrorCode.CONFLICT, "already done");
        },
        domainRefusal: () => {
          throw new GraphQLError("coupon expired", { extensions: { code: "COUPON_EXPIRED" } });
        },
        deep: () => deepNode(10),
        slow: (_: unknown, a: { ms: number }) => new Promise((r) => setTimeout(() => r("done"), a.ms)),
        items: (_: unknown, a: { first?: number }) => Array.from({ length: a.first ?? 3 }, (_, i) => ({ id: String(i) })),
        pingEvent: asGatewayEvent((_: unknown, a: { topic: string; eventId: string }, c: any) => {
          eventCalls.push({ eventId: a.eventId, identity: c.identity });
          if (a.eventId.startsWith("hidden")) return null;
          return { id: a.eventId, topic: a.topic, item: { id: `item-${a.eventId}` } };
        }),
        myPingEvent: asGatewayEvent((_: unknown, a: { eventId: string }, c: any) => ({
          id: a.eventId,
          topic: c.identity.id,
          item: { id: `item-${a.eventId}` },
        })),
      },
      Mutation: {
        bump: (_: unknown, a: { by: number }) => (bumps.total += a.by),
        bumpThenRefuse: (_: unknown, a: { by: number }) => {
          bumps.total += a.by;
          throw new AppError(ErrorCode.CONFLICT, "bumped, then refused");
        },
      },
    },
  });
  const catalog = await startSubgraph<any>({
    name: "catalog",
    typeDefs: catalogSdl,
    port: 0,
    internalSecret: SECRET,
    context: ctx,
    resolvers: {
      Query: {
        catalogPing: () => "pong",
        catalogCounter: () => ++catalogCounter,
        catalogUncached: () => ++catalogCounter,
        // private to the caller: who asked, and a counter that shows whether it was recomputed
        catalogMine: (_: unknown, __: unknown, c: any) => `${c.identity.id ?? c.identity.kind}:${++catalogCounter}`,
      },
      Item: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: `Item ${ref.id}` }) },
    },
  });
  const startCart = (port: number) =>
    startSubgraph<any>({
      name: "cart",
      typeDefs: cartSdl,
      port,
      internalSecret: SECRET,
      context: ctx,
      resolvers: { Query: { cartPing: () => "pong" } },
    });
  let cart = await startCart(0);
  const cartPort = cart.port;
  const composed = composeServices([
    { name: "member", url: member.url, typeDefs: parse(memberSdl) },
    { name: "catalog", url: catalog.url, typeDefs: parse(catalogSdl) },
    { name: "cart", url: cart.url, typeDefs: parse(cartSdl) },
  ]);
  if (composed.errors?.length) throw new Error(composed.errors.map((e) => e.message).join("\n"));
  const fed: TestFederation = {
    key,
    member,
    catalog,
    cart,
    supergraphSdl: composed.supergraphSdl!,
    eventCalls,
    restartCart: async () => {
      cart = await startCart(cartPort);
      fed.cart = cart;
    },
    stop: async () => {
      await Promise.all([member.stop(), catalog.stop(), fed.cart.stop().catch(() => undefined)]);
    },
  };
  return fed;
}

export function testConfig(fed: TestFederation, prefix: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    INTERNAL_SECRET: SECRET,
    JWT_ISSUER: ISSUER,
    MEMBER_PORT: String(fed.member.port),
    CATALOG_PORT: String(fed.catalog.port),
    CART_PORT: String(fed.cart.port),
    GATEWAY_PORT: "0",
    ...extra,
  } as NodeJS.ProcessEnv);
}

let sidCounter = 0;

/** Writes a live session into Redis (as the member subgraph would) and signs an access token for it. */
export async function login(
  redis: Redis,
  prefix: string,
  key: SigningKey,
  who: { sub: string; realm?: "member" | "admin"; device?: string; permissions?: string[] },
): Promise<{ token: string; sid: string }> {
  const sid = `sid-${process.pid}-${++sidCounter}-${Math.random().toString(36).slice(2)}`;
  const realm = who.realm ?? "member";
  await redis.hset(sessionKey(prefix, sid), {
    realm,
    subject: who.sub,
    device: who.device ?? "WEB",
    permissions: JSON.stringify(who.permissions ?? []),
    createdAt: String(Date.now()),
  });
  const token = await signAccessToken(key, ISSUER, 900, { sub: who.sub, sid, realm, dev: who.device ?? "WEB" });
  return { token, sid };
}

export async function expiredToken(key: SigningKey, sub: string, sid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid, realm: "member" })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(accessAudience(ISSUER, "member"))
    .setIssuedAt(now - 1000)
    .setExpirationTime(now - 100)
    .sign(key.privateKey);
}

export interface GqlResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: Array<{ message: string; path?: unknown; extensions?: Record<string, any> }> };
}

export async function gql<T = any>(
  url: string,
  query: string | undefined,
  opts: {
    variables?: Record<string, unknown>;
    token?: string;
    headers?: Record<string, string>;
    extensions?: Record<string, unknown>;
    operationName?: string;
  } = {},
): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    body: JSON.stringify({ query, variables: opts.variables, extensions: opts.extensions, operationName: opts.operationName }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as GqlResponse<T>["body"] };
}

export const codes = (r: GqlResponse) => (r.body.errors ?? []).map((e) => e.extensions?.code);

export { createRedis };

/** A gateway on a fresh federation and Redis prefix, as the live-connection tests set it up. */
export interface TestGatewayStack {
  fed: TestFederation;
  tr: TestRedis;
  redis: Redis;
  gw: RunningGateway;
  stop(): Promise<void>;
}

export async function startTestGateway(
  options: Omit<GatewayOptions, "config" | "port" | "host" | "supergraphSdl">,
): Promise<TestGatewayStack> {
  const fed = await startFederation();
  const tr = createTestRedis();
  const redis = createRedis(tr.url);
  const gw = await createGateway({
    config: testConfig(fed, tr.prefix),
    port: 0,
    host: "127.0.0.1",
    supergraphSdl: fed.supergraphSdl,
    ...options,
  });
  return {
    fed,
    tr,
    redis,
    gw,
    async stop() {
      await gw.stop();
      await fed.stop();
      redis.disconnect();
      await tr.cleanup();
    },
  };
}
