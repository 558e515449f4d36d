/**
 * The subgraph fast path (fast-graphql.ts) answers exactly what Apollo Server answers: the same
 * status, content type, cache-control header and body bytes, for entities (`_entities`,
 * `_service`), fragments, abstract types, cache hints, errors (domain, masked, non-null
 * propagation), variables (defaults, coercion failures), mutations and more — one subgraph with
 * the fast path and one without, on the same schema and resolvers.
 */
import { GraphQLError, GraphQLScalarType, Kind } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asMember } from "../src/access.ts";
import { signIdentity } from "../src/auth.ts";
import { AppError, ErrorCode } from "../src/errors.ts";
import { logger } from "../src/log.ts";
import { startSubgraph, type RunningSubgraph } from "../src/subgraph.ts";

const SECRET = "fast-path-test-secret-0123456789";

const typeDefs = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
  enum CacheControlScope { PUBLIC PRIVATE }
  directive @cacheControl(maxAge: Int, scope: CacheControlScope, inheritMaxAge: Boolean) on FIELD_DEFINITION | OBJECT | INTERFACE | UNION
  scalar DateTime
  enum Status { ON OFF }
  interface Node { id: ID! }
  type Book implements Node @key(fields: "id") @cacheControl(maxAge: 30) {
    id: ID!
    title: String!
    status: Status!
    published: DateTime
    author: Author
    price(currency: String = "CNY"): String!
    stock: Stock!
    secret: String @cacheControl(maxAge: 10, scope: PRIVATE)
    broken: String
    mustNotBeNull: String!
  }
  type Author @cacheControl(inheritMaxAge: true) { name: String! books: [Book!]! }
  type Stock @cacheControl(maxAge: 2) { available: Int! }
  type Film implements Node @key(fields: "id") { id: ID! name: String! }
  union SearchHit = Book | Film
  type Query {
    book(id: ID!): Book @cacheControl(maxAge: 60)
    books(ids: [ID!]!, first: Int = 2): [Book]! @cacheControl(maxAge: 60)
    node(id: ID!): Node @cacheControl(maxAge: 60)
    search(q: String!): [SearchHit!]! @cacheControl(maxAge: 5)
    plain: String
    me: String
    fail(kind: String!): String @cacheControl(maxAge: 60)
  }
  type Mutation { add(n: Int!): Int! reset: Int! }
`;

const books: Record<string, any> = {
  b1: { id: "b1", title: "三体", status: "ON", published: new Date("2008-01-01T00:00:00Z"), author: { name: "刘慈欣" } },
  b2: { id: "b2", title: "Dune", status: "OFF", published: null, author: null },
};
let counter = 0;

const resolvers = {
  DateTime: new GraphQLScalarType({
    name: "DateTime",
    serialize: (v) => (v instanceof Date ? v.toISOString() : String(v)),
    parseValue: (v) => new Date(String(v)),
    parseLiteral: (a) => (a.kind === Kind.STRING ? new Date(a.value) : null),
  }),
  Query: {
    book: (_p: unknown, { id }: { id: string }) => books[id] ?? null,
    books: (_p: unknown, { ids, first }: { ids: string[]; first: number }) => ids.slice(0, first).map((id) => books[id] ?? null),
    node: (_p: unknown, { id }: { id: string }) =>
      books[id] ?? (id.startsWith("f") ? { __typename: "Film", id, name: `Film ${id}` } : null),
    search: async (_p: unknown, { q }: { q: string }) => [books.b1, { __typename: "Film", id: "f1", name: q }],
    plain: () => "plain",
    me: asMember((_p, _a, ctx) => `member ${ctx.identity.id}`),
    fail: (_p: unknown, { kind }: { kind: string }) => {
      if (kind === "domain") throw new AppError(ErrorCode.NOT_FOUND, "no such thing", { reason: "GONE" });
      if (kind === "graphql") throw new GraphQLError("with code", { extensions: { code: "BAD_USER_INPUT", field: "kind" } });
      if (kind === "http") throw new GraphQLError("teapot", { extensions: { code: "TEAPOT", http: { status: 418 } } });
      if (kind === "async") return Promise.reject(new Error("database exploded"));
      throw new Error("internal detail");
    },
  },
  Mutation: {
    add: async (_p: unknown, { n }: { n: number }) => (counter += n),
    reset: () => (counter = 0),
  },
  Node: { __resolveType: (o: any) => o.__typename ?? "Book" },
  SearchHit: { __resolveType: (o: any) => o.__typename ?? "Book" },
  Book: {
    __resolveReference: (ref: { id: string }) => books[ref.id] ?? null,
    price: (_b: unknown, { currency }: { currency: string }) => `9.90 ${currency}`,
    stock: async () => ({ available: 7 }),
    secret: () => "s3cret",
    broken: () => {
      throw new Error("broken field");
    },
    mustNotBeNull: (b: any) => (b.id === "b2" ? null : "here"),
    author: (b: any) => (b.author ? { ...b.author, books: [b] } : null),
  },
  Film: { __resolveReference: (ref: { id: string }) => ({ __typename: "Film", id: ref.id, name: `Film ${ref.id}` }) },
};

describe("subgraph fast path: the same answers as Apollo Server", () => {
  let fast: RunningSubgraph;
  let apollo: RunningSubgraph;
  beforeAll(async () => {
    const common = {
      name: "fixture",
      typeDefs,
      resolvers,
      port: 0,
      internalSecret: SECRET,
      context: (base: any) => base,
      logger: logger("fixture-test"),
    };
    fast = await startSubgraph({ ...common, fastPath: true, revokesSessions: false });
    apollo = await startSubgraph(common);
  });
  afterAll(async () => {
    await fast?.stop();
    await apollo?.stop();
  });

  async function both(body: unknown, headers: Record<string, string> = {}) {
    const send = async (url: string) => {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: r.status, type: r.headers.get("content-type"), cache: r.headers.get("cache-control"), body: await r.text() };
    };
    const a = await send(apollo.url);
    counter = 0;
    const f = await send(fast.url);
    counter = 0;
    return { a, f };
  }

  const cases: Array<[string, unknown, Record<string, string>?]> = [
    [
      "a root field with nested objects and hints",
      {
        query: `query B($id: ID!) { book(id: $id) { id title status published author { name books { title } } price stock { available } } }`,
        variables: { id: "b1" },
      },
    ],
    ["default argument values and literals", { query: `{ book(id: "b1") { p1: price p2: price(currency: "USD") } }` }],
    ["a private field makes the answer private", { query: `{ book(id: "b1") { id secret } }` }],
    ["an unknown id (null)", { query: `{ book(id: "nope") { id title } }` }],
    [
      "lists with nulls and default arguments",
      { query: `query($ids: [ID!]!) { books(ids: $ids) { id } }`, variables: { ids: ["b1", "zz", "b2"] } },
    ],
    ["an interface and inline fragments", { query: `{ node(id: "f9") { id ... on Film { name } ... on Book { title } __typename } }` }],
    [
      "a union with named fragments",
      {
        query: `query S { search(q: "x") { ...B ... on Film { id name } } } fragment B on Book { id title author { name } }`,
        operationName: "S",
      },
    ],
    ["several operations, one chosen", { query: `query A { plain } query B { book(id: "b1") { title } }`, operationName: "B" }],
    ["a field without a hint at the root: no-store", { query: `{ plain }` }],
    ["a domain error keeps its code", { query: `{ fail(kind: "domain") }` }],
    ["a GraphQLError keeps its extensions", { query: `{ fail(kind: "graphql") }` }],
    ["an unexpected error is masked", { query: `{ fail(kind: "other") }` }],
    ["an async unexpected error is masked", { query: `{ fail(kind: "async") }` }],
    ["extensions.http sets the status", { query: `{ fail(kind: "http") }` }],
    ["a failing nullable field", { query: `{ book(id: "b1") { id broken } }` }],
    ["non-null propagation", { query: `{ book(id: "b2") { id mustNotBeNull } }` }],
    [
      "entities of two types, one unknown",
      {
        query: `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Book { id title stock { available } } ... on Film { name } } }`,
        variables: {
          r: [
            { __typename: "Book", id: "b1" },
            { __typename: "Film", id: "f2" },
            { __typename: "Book", id: "none" },
          ],
        },
      },
    ],
    [
      "entities of a type without a hint only: no-store",
      {
        query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Film { name } } }`,
        variables: { r: [{ __typename: "Film", id: "f3" }] },
      },
    ],
    ["entities given inline", { query: `{ _entities(representations: [{ __typename: "Book", id: "b1" }]) { ... on Book { title } } }` }],
    ["the service SDL", { query: `{ _service { sdl } }` }],
    ["__typename at the root", { query: `{ __typename plain }` }],
    ["a member-only field, anonymous", { query: `{ me }` }],
    ["a member-only field, as a member", { query: `{ me }` }, { "x-mg-identity": signIdentity(SECRET, { kind: "member", id: "m-1" }) }],
    ["mutations run in order", { query: `mutation { a: add(n: 2) b: add(n: 3) c: add(n: 4) }` }],
    ["variables that do not coerce (400)", { query: `query($id: ID!) { book(id: $id) { id } }`, variables: { id: { x: 1 } } }],
    ["a missing required variable (400)", { query: `query($id: ID!) { book(id: $id) { id } }` }],
    ["a validation error", { query: `{ book(id: "b1") { nope } }` }],
    ["a syntax error", { query: `{ book(id: ` }],
    ["an unknown operation name", { query: `query A { plain }`, operationName: "Z" }],
    ["introspection", { query: `{ __schema { queryType { name } } }` }],
    ["a batch", [{ query: `{ plain }` }, { query: `{ book(id: "b1") { id } }` }]],
    ["no query", { variables: {} }],
    ["malformed JSON", "{ not json"],
  ];

  for (const [name, body, headers] of cases) {
    it(name, async () => {
      const { a, f } = await both(body, headers);
      expect(f).toEqual(a);
    });
  }

  it("the fast path really serves plain requests (and leaves the rest to Apollo Server)", async () => {
    // a cacheable answer's header is computed by the fast path from the document
    const r = await fetch(fast.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ book(id: "b1") { id stock { available } } }` }),
    });
    expect(r.headers.get("cache-control")).toBe("max-age=2, public");
    // GET goes to Apollo Server (with its CSRF rules) on both
    const g = await Promise.all(
      [fast, apollo].map((s) =>
        fetch(`${s.url}?query=${encodeURIComponent("{ plain }")}`, { headers: { "apollo-require-preflight": "1" } }).then(async (x) => [
          x.status,
          await x.text(),
        ]),
      ),
    );
    expect(g[0]).toEqual(g[1]);
  });
});
