/**
 * The benchmark scenarios: each prepares what it needs through the gateway (ids, logged-in members)
 * and then yields request bodies. Operations are the public contract's.
 */
import { randomUUID } from "node:crypto";
import type { Stack } from "../scripts/stack.ts";

export interface Prepared {
  next(): { body: { query: string; variables?: Record<string, unknown> }; headers?: Record<string, string> };
  check?(status: number, body: string): void;
  failures?(): number;
  notes?(): string;
}

export interface Scenario {
  name: string;
  connections?: number;
  prepare(stack: Stack): Promise<Prepared>;
}

export async function gql<T = any>(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await res.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (json.errors?.length) throw new Error(`${json.errors[0]!.message} (${query.slice(0, 60)}…)`);
  return json.data as T;
}

/** Counts GraphQL-level errors in 200 responses (autocannon only sees HTTP status). */
function errorCounter(match: (body: string) => boolean = (b) => b.includes('"errors"')) {
  let failures = 0;
  let first = "";
  return {
    check: (_s: number, body: string) => {
      if (match(body)) {
        failures++;
        if (!first) first = body.slice(0, 300);
      }
    },
    failures: () => failures,
    firstFailure: () => first,
  };
}

const PRODUCT = `query Product($id: ID!) { product(id: $id) { id title status brand { id name }
  skus { id code title price currency stock { available } saleAttributes { name value } } } }`;

const SEARCH = `query SearchProducts($query: ProductSearchInput!) { searchProducts(query: $query) { total
  items { spuId title minPrice currency inStock brandName defaultImage }
  facets { brands { id name count } attributes { id name values { id value count } } }
  pageInfo { hasNextPage endCursor } } }`;

async function spuIds(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  while (ids.length < n) {
    const d: any = await gql(url, SEARCH, { query: { sort: "NEWEST", first: 50, after } });
    ids.push(...d.searchProducts.items.map((i: any) => i.spuId));
    if (!d.searchProducts.pageInfo.hasNextPage) break;
    after = d.searchProducts.pageInfo.endCursor;
  }
  if (!ids.length) throw new Error("no products: is the catalog seeded?");
  return ids;
}

/** Logs in the seeded operator and registers `n` members (SMS codes read from the message center). */
export async function members(url: string, n: number): Promise<Array<{ token: string; addressId: string }>> {
  const admin = (
    await gql(url, `mutation($u:String!,$p:String!){ adminLogin(username:$u,password:$p){ accessToken } }`, {
      u: "admin",
      p: process.env.ADMIN_PASSWORD ?? "admin123",
    })
  ).adminLogin.accessToken;
  const out: Array<{ token: string; addressId: string }> = [];
  for (let i = 0; i < n; i++) {
    const phone = `139${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
    await gql(url, `mutation($p:String!){ requestSmsCode(phone:$p){ ok } }`, { p: phone });
    let code: string | undefined;
    for (let t = 0; t < 300 && !code; t++) {
      const m = await gql(url, `query($r:String!){ sentMessages(recipient:$r, first:1){ body } }`, { r: phone }, admin);
      code = m.sentMessages[0]?.body.match(/\d{6}/)?.[0];
      if (!code) await new Promise((r) => setTimeout(r, 100));
    }
    if (!code) throw new Error("no SMS code arrived");
    const reg = await gql(url, `mutation($i: RegisterInput!){ register(input:$i){ accessToken } }`, {
      i: { phone, smsCode: code, password: "bench-pass-1" },
    });
    const token = reg.register.accessToken;
    const addr = await gql(
      url,
      `mutation($i: AddressInput!){ addAddress(input:$i){ id } }`,
      { i: { receiver: "张三", phone, region: "上海市 浦东新区", detail: "世纪大道 1 号", isDefault: true } },
      token,
    );
    out.push({ token, addressId: addr.addAddress.id });
  }
  return out;
}

export const scenarios: Scenario[] = [
  {
    name: "product detail (Product)",
    async prepare(stack) {
      const ids = await spuIds(stack.gatewayUrl, 500);
      let i = 0;
      const errors = errorCounter();
      return {
        next: () => ({ body: { query: PRODUCT, variables: { id: ids[i++ % ids.length] } } }),
        ...errors,
        notes: () =>
          `anonymous, ${ids.length} products round robin: mostly answered by the gateway's response cache (stock max-age 2 s)${errors.firstFailure() ? `; first error: ${errors.firstFailure()}` : ""}`,
      };
    },
  },
  {
    name: "product detail, uncached: as a logged-in member (Product)",
    async prepare(stack) {
      const ids = await spuIds(stack.gatewayUrl, 500);
      const [m] = await members(stack.gatewayUrl, 1);
      let i = 0;
      const errors = errorCounter();
      return {
        next: () => ({
          body: { query: PRODUCT, variables: { id: ids[i++ % ids.length] } },
          headers: { authorization: `Bearer ${m!.token}` },
        }),
        ...errors,
        notes: () =>
          `members never read the response cache: every request goes through the gateway's plan to the catalog subgraph (product views in its memory, versions checked in Redis)${errors.firstFailure() ? `; first error: ${errors.firstFailure()}` : ""}`,
      };
    },
  },
  {
    name: "search: keyword + price range, facets (SearchProducts)",
    async prepare(_stack) {
      const keywords = ["手机", "phone", "耳机", "laptop", "华为", "Apple", "电视", "camera", "手表", "watch"];
      const ranges = [
        ["0", "999"],
        ["500", "3000"],
        ["1000", "8000"],
        ["2000", "20000"],
      ];
      let i = 0;
      const errors = errorCounter();
      return {
        next: () => {
          const k = keywords[i % keywords.length];
          const [minPrice, maxPrice] = ranges[i++ % ranges.length]!;
          return { body: { query: SEARCH, variables: { query: { keyword: k, minPrice, maxPrice, sort: "RELEVANCE", first: 20 } } } };
        },
        ...errors,
        notes: () =>
          `anonymous, 10 keywords × 4 price ranges: mostly answered by the gateway's response cache (max-age 5 s)${errors.firstFailure() ? `; first error: ${errors.firstFailure()}` : ""}`,
      };
    },
  },
  {
    name: "search, uncached: as a logged-in member, keyword + price range, facets",
    async prepare(stack) {
      const keywords = ["手机", "phone", "耳机", "laptop", "华为", "Apple", "电视", "camera", "手表", "watch"];
      const [m] = await members(stack.gatewayUrl, 1);
      let i = 0;
      const errors = errorCounter();
      return {
        next: () => {
          const k = keywords[i % keywords.length];
          const lo = (i++ * 37) % 5000;
          return {
            body: {
              query: SEARCH,
              variables: { query: { keyword: k, minPrice: String(lo), maxPrice: String(lo + 3000), sort: "RELEVANCE", first: 20 } },
            },
            headers: { authorization: `Bearer ${m!.token}` },
          };
        },
        ...errors,
        notes: () =>
          `members never read the response cache; varying price ranges: every request runs the PostgreSQL search with facets${errors.firstFailure() ? `; first error: ${errors.firstFailure()}` : ""}`,
      };
    },
  },
  {
    name: "place order, direct buy (PlaceOrder)",
    connections: 64,
    async prepare(stack) {
      const buyers = await members(stack.gatewayUrl, 64);
      const ids = await spuIds(stack.gatewayUrl, 200);
      const skus: string[] = [];
      for (const id of ids.slice(0, 100)) {
        const p = await gql(stack.gatewayUrl, PRODUCT, { id });
        for (const s of p.product.skus) if (s.stock.available > 100) skus.push(s.id);
      }
      let i = 0;
      const errors = errorCounter((b) => b.includes('"errors"') || !b.includes('"code":"OK"'));
      const q = `mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { code order { id orderNo status payable currency } } }`;
      return {
        next: () => {
          const b = buyers[i % buyers.length]!;
          const sku = skus[i++ % skus.length];
          return {
            body: {
              query: q,
              variables: {
                input: {
                  items: [{ skuId: sku, quantity: 1 }],
                  addressId: b.addressId,
                  paymentMethod: "SANDBOX",
                  idempotencyKey: randomUUID(),
                },
              },
            },
            headers: { authorization: `Bearer ${b.token}` },
          };
        },
        ...errors,
        notes: () =>
          `${buyers.length} members, ${skus.length} SKUs, quantity 1, each a new order (reserve stock → create order)${errors.firstFailure() ? `; first failure: ${errors.firstFailure()}` : ""}`,
      };
    },
  },
];
