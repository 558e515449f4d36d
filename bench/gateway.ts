/**
 * Our gateway against its peers, on the same running subgraphs and supergraph, in one run:
 * stock `@apollo/gateway` (bench/peers/apollo-gateway.ts), Hive Gateway with its JavaScript planner
 * and Hive Gateway with the Rust query planner (`--hive-router-runtime`), each a process of its own.
 *
 *   npm run bench:gateway                       # every scenario, every gateway
 *   npm run bench:gateway -- product            # scenarios whose name contains "product"
 *   npm run bench:gateway -- --record           # also append the tables to bench/RESULTS.md
 *   BENCH_SECONDS=20 BENCH_CONNECTIONS=50 BENCH_WARMUP_SECONDS=3 npm run bench:gateway
 *
 * Ours runs as a logged-in member with every plugin on (auth + session check, rate limits,
 * persisted queries, limits, masked errors, metrics) and GATEWAY_RESPONSE_CACHE=off; the peers run
 * anonymously (for the order query, which needs a member, the benchmark signs the member's
 * identity header itself and the peers pass it on). Per gateway and scenario it prints req/s,
 * p50/p99, the gateway process's CPU milliseconds per request (from /proc: the figure that does not
 * depend on how fast the shared subgraphs are), and the ratios to the best peer.
 * `seckillBuy` runs through ours only, and straight at the promotion subgraph for comparison.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { serviceKeys, signIdentity, type Identity } from "../packages/platform/src/auth.ts";
import { loadConfig } from "../packages/platform/src/config.ts";
import { freePort, type Stack } from "../scripts/stack.ts";
import { loadAverage } from "./lib/cpu.ts";
import { errorCounter, runLoad, RUN, type LoadResult, type RequestSpec } from "./lib/load.ts";
import { bootBenchStack, subgraphUrlOf } from "./lib/stack.ts";
import { gql, members } from "./scenarios.ts";

const root = path.resolve(import.meta.dirname, "..");
const { seconds, connections, warmup } = RUN;
const args = process.argv.slice(2);
const record = args.includes("--record");
const filter = args.find((a) => !a.startsWith("--"));

export const PRODUCT = `query Product($id: ID!) { product(id: $id) { id title status brand { id name }
  skus { id code title price currency stock { available } saleAttributes { name value } } } }`;
export const CATEGORIES = `query Categories { categories { id name children { id name children { id name } } } }`;
/** Three subgraphs: order (order, items), member (buyer), catalog (sku → product → brand). */
export const ORDER_DETAIL = `query OrderDetail($id: ID!) { order(id: $id) { id orderNo status payable currency buyer { id nickname }
  items { quantity price sku { id title product { id brand { id name } } } } } }`;
export const SECKILL_BUY = `mutation SeckillBuy($sessionId: ID!, $skuId: ID!, $quantity: Int!, $idempotencyKey: String!) {
  seckillBuy(sessionId: $sessionId, skuId: $skuId, quantity: $quantity, idempotencyKey: $idempotencyKey) { code reservationId } }`;

export interface Gateway {
  name: string;
  url: string;
  pid: number;
  /** Ours: a member's access token; peers: anonymous (plus a signed identity where needed). */
  ours: boolean;
}

export interface Member {
  token: string;
  addressId: string;
  identity: Identity;
}

/** The identity our gateway derives from a member's access token (for peers and direct calls). */
function identityOf(token: string): Identity {
  const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
  return { kind: claims.realm, id: claims.sub, sessionId: claims.sid, device: claims.dev, permissions: [] };
}

/**
 * A signed identity header, as our gateway would send it: signed with the gateway's own service
 * secret (SERVICE_SECRET_GATEWAY or derived from INTERNAL_SECRET) and fresh for every request,
 * since subgraphs refuse a header older than 5 s or one whose nonce they have seen.
 */
export function identityHeader(identity: Identity) {
  const keys = serviceKeys(loadConfig({ ...process.env })); // not the cached config: the bench stack sets its secrets after start-up
  return () => signIdentity(keys, identity);
}

export async function benchMembers(url: string, n: number): Promise<Member[]> {
  return (await members(url, n)).map((m) => ({ ...m, identity: identityOf(m.token) }));
}

export async function adminToken(url: string): Promise<string> {
  return (
    await gql(url, `mutation($u:String!,$p:String!){ adminLogin(username:$u,password:$p){ accessToken } }`, {
      u: "admin",
      p: process.env.ADMIN_PASSWORD ?? "admin123",
    })
  ).adminLogin.accessToken;
}

export async function productIds(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  while (ids.length < n) {
    const d: any = await gql(
      url,
      `query($q: ProductSearchInput!){ searchProducts(query:$q){ items { spuId } pageInfo { hasNextPage endCursor } } }`,
      { q: { sort: "NEWEST", first: 50, after } },
    );
    ids.push(...d.searchProducts.items.map((i: any) => i.spuId));
    if (!d.searchProducts.pageInfo.hasNextPage) break;
    after = d.searchProducts.pageInfo.endCursor;
  }
  if (!ids.length) throw new Error("no products: is the catalog seeded?");
  return ids;
}

/** Places `n` direct-buy orders for the member; returns their ids. */
export async function placeOrders(url: string, m: Member, n: number): Promise<string[]> {
  const ids = await productIds(url, 40);
  const skus: string[] = [];
  for (const id of ids) {
    const p = await gql(url, PRODUCT, { id });
    for (const s of p.product.skus) if (s.stock.available > 10) skus.push(s.id);
  }
  const out: string[] = [];
  const codes: string[] = [];
  for (let i = 0; out.length < n && i < n * 5; i++) {
    const items = [0, 1, 2].map((j) => ({ skuId: skus[(i * 3 + j) % skus.length]!, quantity: 1 }));
    const r = await gql(
      url,
      `mutation($i: PlaceOrderInput!){ placeOrder(input:$i){ code order { id } } }`,
      { i: { items, addressId: m.addressId, paymentMethod: "SANDBOX", idempotencyKey: randomUUID() } },
      m.token,
    );
    if (r.placeOrder.code === "OK") out.push(r.placeOrder.order.id);
    else codes.push(r.placeOrder.code); // e.g. a SKU in an earlier run's seckill session: try others
  }
  if (out.length < n) throw new Error(`placed only ${out.length} of ${n} orders: ${codes.join(", ")}`);
  return out;
}

/** An online seckill session with `stock` of one SKU (stock inbound first); returns its ids. */
export async function seckillSession(
  url: string,
  admin: string,
  stock: number,
  perUserLimit: number,
): Promise<{ sessionId: string; skuId: string }> {
  const ids = await productIds(url, 500);
  for (let attempt = 0; ; attempt++) {
    // a random SKU: one already in a session (an earlier run's) is refused, then try another
    const p = await gql(url, PRODUCT, { id: ids[Math.floor(Math.random() * ids.length)] });
    const skuId = p.product.skus[Math.floor(Math.random() * p.product.skus.length)].id as string;
    await gql(
      url,
      `mutation($s: ID!, $q: Int!){ adminInboundStock(skuId:$s, quantity:$q, note:"bench") { available } }`,
      { s: skuId, q: stock },
      admin,
    );
    let created: { id: string };
    try {
      created = (
        await gql(
          url,
          `mutation($i: SeckillSessionInput!){ adminCreateSeckillSession(input:$i){ id status } }`,
          {
            i: {
              title: `bench ${new Date().toISOString()}`,
              startsAt: new Date(Date.now() - 1000).toISOString(),
              endsAt: new Date(Date.now() + 3600_000).toISOString(),
              items: [{ skuId, seckillPrice: "1.00", stock, perUserLimit }],
            },
          },
          admin,
        )
      ).adminCreateSeckillSession;
    } catch (e) {
      if (attempt < 10 && /already in seckill session/.test((e as Error).message)) continue;
      throw e;
    }
    for (let t = 0; t < 200; t++) {
      const s = (await gql(url, `query { seckillSessions { id status } }`)).seckillSessions.find((x: any) => x.id === created.id);
      if (s?.status === "ONLINE") return { sessionId: created.id, skuId };
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error("the seckill session did not come online");
  }
}

/** A copy of schema/supergraph.graphql whose subgraph URLs are the running stack's. */
function supergraphFor(stack: Stack): string {
  const sdl = readFileSync(path.join(root, "schema", "supergraph.graphql"), "utf8").replace(
    /@join__graph\(name: "([a-z]+)", url: "[^"]*"\)/g,
    (_m, name: string) => `@join__graph(name: "${name}", url: "${subgraphUrlOf(stack, name)}")`,
  );
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "mg-bench-")), "supergraph.graphql");
  writeFileSync(file, sdl);
  return file;
}

async function waitUp(url: string, proc: ChildProcess, name: string, log: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}):\n${log()}`);
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not come up:\n${log()}`);
}

/** Starts the peers on the stack's subgraphs. */
async function startPeers(stack: Stack): Promise<{ peers: Gateway[]; stop: () => Promise<void> }> {
  const supergraph = supergraphFor(stack);
  const hiveBin = path.join(root, "node_modules", "@graphql-hive", "gateway", "dist", "bin.js");
  const hiveConfig = path.join(root, "bench", "peers", "hive-gateway.config.ts");
  const specs = [
    { name: "@apollo/gateway", args: ["--import", "tsx", path.join(root, "bench", "peers", "apollo-gateway.ts")] },
    { name: "Hive Gateway", args: [hiveBin, "supergraph", supergraph, "--host", "127.0.0.1", "-c", hiveConfig] },
    {
      name: "Hive Gateway (Rust planner)",
      args: [hiveBin, "supergraph", supergraph, "--host", "127.0.0.1", "-c", hiveConfig, "--hive-router-runtime"],
    },
  ];
  const procs: ChildProcess[] = [];
  const peers: Gateway[] = [];
  try {
    for (const s of specs) {
      const port = await freePort();
      const env = { ...process.env, NODE_ENV: "production", PORT: String(port), SUPERGRAPH: supergraph };
      const p = spawn(process.execPath, s.args, { cwd: root, env, stdio: "pipe" });
      const out: string[] = [];
      p.stdout?.on("data", (b) => out.push(b.toString()));
      p.stderr?.on("data", (b) => out.push(b.toString()));
      procs.push(p);
      const url = s.name.startsWith("Hive") ? `http://127.0.0.1:${port}/graphql` : `http://127.0.0.1:${port}/`;
      await waitUp(url, p, s.name, () => out.join("").slice(-3000));
      peers.push({ name: s.name, url, pid: p.pid!, ours: false });
    }
  } catch (e) {
    for (const p of procs) p.kill("SIGKILL");
    throw e;
  }
  return {
    peers,
    stop: async () => {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((r) =>
              p.exitCode !== null ? r() : (p.once("exit", () => r()), p.kill("SIGTERM"), setTimeout(() => p.kill("SIGKILL"), 3000).unref()),
            ),
        ),
      );
    },
  };
}

export interface Scenario {
  name: string;
  /** Ours only (seckill); also run straight at a subgraph for comparison when `direct` is set. */
  oursOnly?: boolean;
  /** The request generator against one gateway. */
  requests: (g: Gateway) => { next: () => RequestSpec; isFailure?: (body: string) => boolean; notes?: () => string };
  /** A run straight against a subgraph (no gateway). */
  direct?: { subgraph: string; requests: () => { next: () => RequestSpec; isFailure?: (body: string) => boolean; notes?: () => string } };
}

/** Everything the scenarios need, prepared once through our gateway. */
export async function prepareScenarios(stack: Stack): Promise<Scenario[]> {
  const url = stack.gatewayUrl;
  console.log("preparing: members, orders, a seckill session…");
  const ms = await benchMembers(url, 50);
  const admin = await adminToken(url);
  const ids = await productIds(url, 500);
  const m = ms[0]!;
  const orders = await placeOrders(url, m, 20);
  const bearer = (mm: Member) => ({ authorization: `Bearer ${mm.token}` });
  let i = 0;
  const seckill = async () => seckillSession(url, admin, 2000, 100);
  const [gwSession, directSession] = [await seckill(), await seckill()];
  const seckillRequests = (session: { sessionId: string; skuId: string }, headers: (mm: Member) => Record<string, string>) => {
    const codes = new Map<string, number>();
    return {
      next: () => {
        const mm = ms[i++ % ms.length]!;
        return { body: { query: SECKILL_BUY, variables: { ...session, quantity: 1, idempotencyKey: randomUUID() } }, headers: headers(mm) };
      },
      isFailure: (b: string) => {
        const code = /"code":"([A-Z_]+)"/.exec(b)?.[1] ?? "ERROR";
        codes.set(code, (codes.get(code) ?? 0) + 1);
        return b.includes('"errors"');
      },
      notes: () =>
        `50 members, a new idempotency key each; session stock 2,000, limit 100 per member; answers: ${[...codes].map(([c, n]) => `${c} ${n}`).join(", ")}`,
    };
  };
  const memberSigners = new Map(ms.map((mm) => [mm, identityHeader(mm.identity)]));
  return [
    {
      name: "product detail (Product)",
      requests: (g) => ({
        next: () => ({ body: { query: PRODUCT, variables: { id: ids[i++ % ids.length] } }, headers: g.ours ? bearer(m) : {} }),
        notes: () => `${ids.length} products round robin`,
      }),
      direct: {
        subgraph: "catalog",
        requests: () => ({ next: () => ({ body: { query: PRODUCT, variables: { id: ids[i++ % ids.length] } } }) }),
      },
    },
    {
      name: "categories (Categories)",
      requests: (g) => ({ next: () => ({ body: { query: CATEGORIES }, headers: g.ours ? bearer(m) : {} }) }),
      direct: { subgraph: "catalog", requests: () => ({ next: () => ({ body: { query: CATEGORIES } }) }) },
    },
    {
      name: "order → items → sku → product → brand, buyer (3 subgraphs)",
      requests: (g) => ({
        next: () => ({
          body: { query: ORDER_DETAIL, variables: { id: orders[i++ % orders.length] } },
          headers: g.ours ? bearer(m) : { "x-mg-identity": memberSigners.get(m)!() },
        }),
        isFailure: (b) => b.includes('"errors"') || b.includes('"order":null'),
        notes: () => `${orders.length} orders of 3 lines round robin`,
      }),
    },
    {
      name: "seckillBuy (SeckillBuy)",
      oursOnly: true,
      requests: () => seckillRequests(gwSession, bearer),
      direct: {
        subgraph: "promotion",
        requests: () => seckillRequests(directSession, (mm) => ({ "x-mg-identity": memberSigners.get(mm)!() })),
      },
    },
  ];
}

interface Row {
  scenario: string;
  gateway: string;
  r: LoadResult;
  failures: number;
  notes: string;
}

async function measure(
  scenario: string,
  gateway: string,
  url: string,
  pid: number | undefined,
  spec: ReturnType<Scenario["requests"]>,
): Promise<Row> {
  if (warmup > 0) await runLoad({ url, next: spec.next, connections, seconds: warmup });
  const errors = errorCounter(spec.isFailure);
  const r = await runLoad({ url, next: spec.next, check: errors.check, connections, seconds, pids: pid ? { gateway: pid } : {} });
  const row = {
    scenario,
    gateway,
    r,
    failures: errors.failures(),
    notes: [spec.notes?.(), errors.firstFailure() && `first failure: ${errors.firstFailure()}`].filter(Boolean).join("; "),
  };
  console.log(
    `  ${gateway.padEnd(30)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  CPU ${pid ? (r.cpuPerRequest.gateway ?? 0).toFixed(3) : "–"} ms/req  errors ${r.errors + r.non2xx + row.failures}  (${r.load})`,
  );
  return row;
}

function table(rows: Row[]): string {
  const out = [
    "| scenario | gateway | req/s | p50 ms | p99 ms | process CPU ms/req | req/s ÷ best peer | CPU ÷ best peer | errors | load (1/5/15 min, before → after) | notes |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const scenario of [...new Set(rows.map((r) => r.scenario))]) {
    const group = rows.filter((r) => r.scenario === scenario);
    const peers = group.filter((r) => r.gateway !== "ours" && !r.gateway.startsWith("subgraph"));
    const bestRps = Math.max(0, ...peers.map((p) => p.r.rps));
    const bestCpu = Math.min(Infinity, ...peers.map((p) => p.r.cpuPerRequest.gateway ?? Infinity));
    for (const r of group) {
      const cpu = r.r.cpuPerRequest.gateway;
      if (r.gateway.startsWith("subgraph")) {
        out.push(
          `| ${scenario} | ${r.gateway} | ${r.r.rps} | ${r.r.p50} | ${r.r.p99} | ${cpu !== undefined ? cpu.toFixed(3) : "–"} (the subgraph) | – | – | ${r.r.errors + r.r.non2xx + r.failures} | ${r.r.load} | ${r.notes} |`,
        );
        continue;
      }
      out.push(
        `| ${scenario} | ${r.gateway} | ${r.r.rps} | ${r.r.p50} | ${r.r.p99} | ${cpu !== undefined ? cpu.toFixed(3) : "–"} | ${bestRps ? (r.r.rps / bestRps).toFixed(2) : "–"} | ${cpu !== undefined && Number.isFinite(bestCpu) ? (cpu / bestCpu).toFixed(2) : "–"} | ${r.r.errors + r.r.non2xx + r.failures} | ${r.r.load} | ${r.notes} |`,
      );
    }
  }
  return out.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stack = await bootBenchStack({ env: { ACCESS_TOKEN_TTL_SECONDS: "14400" } });
  const started = await startPeers(stack).catch(async (e) => {
    await stack.stop();
    throw e;
  });
  const rows: Row[] = [];
  try {
    const ours: Gateway = { name: "ours", url: stack.gatewayUrl, pid: stack.processes.get("gateway")?.pid ?? 0, ours: true };
    const scenarios = (await prepareScenarios(stack)).filter((s) => !filter || s.name.includes(filter));
    for (const s of scenarios) {
      console.log(`${s.name}: ${seconds} s per gateway at ${connections} connections`);
      for (const g of s.oursOnly ? [ours] : [ours, ...started.peers])
        rows.push(await measure(s.name, g.name, g.url, g.pid || undefined, s.requests(g)));
      if (s.direct) {
        const pid = stack.processes.get(s.direct.subgraph)?.pid;
        rows.push(
          await measure(s.name, `subgraph ${s.direct.subgraph} alone`, subgraphUrlOf(stack, s.direct.subgraph), pid, s.direct.requests()),
        );
      }
    }
  } finally {
    await started.stop();
    await stack.stop();
  }
  const cpu = os.cpus();
  const text = `\n## Gateway peers — ${new Date().toISOString()}\n\nMachine: ${cpu.length} × ${cpu[0]?.model}, Node ${process.version}, ${loadAverage()} at the end. ${seconds} s per run after ${warmup} s of warm-up, ${connections} connections. Ours as a member with every plugin on, GATEWAY_RESPONSE_CACHE=off; peers anonymous.\n\n${table(rows)}\n`;
  console.log(text);
  if (record) appendFileSync(path.join(root, "bench", "RESULTS.md"), text);
  process.exit(0);
}
