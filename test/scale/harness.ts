/**
 * Several instances of the platform side by side on this machine (issue 14, decision 0033): a
 * throwaway database with every domain, the demo data, a local three-master Redis Cluster
 * (REDIS_CLUSTER_NODES for every process), and as processes:
 *   - one instance of member, catalog, cart, order, payment and lottery;
 *   - `promotion` instances of the promotion subgraph behind a proxy (PROMOTION_URL names the proxy,
 *     so the gateways and the other subgraphs spread their calls over them);
 *   - `workers` workers processes and `gateways` gateways, each with its own port and INSTANCE_ID;
 *   - a front proxy (HTTP and WebSocket) before the gateways: one address for clients.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DOMAINS, loadConfig, type Config } from "../../packages/platform/src/config.ts";
import { startRedisCluster, type LocalRedisCluster } from "../../packages/platform/src/testing-redis-cluster.ts";
import { createTestDatabase, randomId, REPO_ROOT, type TestDatabase } from "../../packages/platform/src/testing.ts";
import { seedAll } from "../../scripts/seed.ts";
import { freePort, processGroup, runnableDomains, type Processes } from "../../scripts/stack.ts";
import { startProxy, type Proxy } from "./proxy.ts";

export interface ScaleOptions {
  gateways?: number;
  promotion?: number;
  workers?: number;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}

export interface Instance {
  id: string;
  port: number;
  /** `/graphql` of a gateway or subgraph, the origin of a workers process. */
  url: string;
}

export interface ScaleStack {
  cfg: Config;
  cluster: LocalRedisCluster;
  database: TestDatabase;
  group: Processes;
  gateways: Instance[];
  promotion: Instance[];
  workers: Instance[];
  /** The clients' one address (HTTP and WebSocket), round robin over the gateways. */
  front: Proxy;
  /** Round robin over the promotion instances (PROMOTION_URL). */
  promotionProxy: Proxy;
  stop: () => Promise<void>;
}

const letters = "abcdefghij";

export async function startScaleStack(opts: ScaleOptions = {}): Promise<ScaleStack> {
  const cluster = await startRedisCluster({ masters: 3 });
  const domains = DOMAINS.filter((d) => existsSync(path.join(REPO_ROOT, "prisma", d, "migrations")));
  let database: TestDatabase | undefined;
  let group: Processes | undefined;
  const proxies: Proxy[] = [];
  const stop = async () => {
    await group?.stop();
    for (const p of proxies) await p.stop();
    await database?.drop();
    await cluster.stop();
  };
  try {
    database = await createTestDatabase(domains);
    const instances = async (kind: string, n: number, entry: string) =>
      Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const port = await freePort();
          const id = `${kind}-${letters[i]}`;
          return { id, port, url: kind === "workers" ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/graphql`, entry };
        }),
      );
    const promotion = await instances("promotion", opts.promotion ?? 2, "subgraphs/promotion/src/index.ts");
    const promotionProxy = await startProxy({ targets: promotion.map((p) => `127.0.0.1:${p.port}`) });
    proxies.push(promotionProxy);
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_PREFIX: `t${randomId(4)}`,
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      PROMOTION_URL: `${promotionProxy.url}/graphql`,
      // the front proxy's X-Forwarded-For names the client
      TRUSTED_PROXIES: "127.0.0.1",
      ...opts.env,
    };
    const single = runnableDomains().filter((d) => d !== "promotion");
    for (const d of single) env[`${d.toUpperCase()}_PORT`] = String(await freePort());
    const cfg = loadConfig({ ...process.env, ...env });
    await seedAll(cfg);

    group = processGroup({ ...process.env, ...env }, { stdio: "pipe", readyTimeoutMs: opts.readyTimeoutMs ?? 180_000 });
    await group.start([
      ...single.map((d) => ({
        name: d,
        file: `subgraphs/${d}/src/index.ts`,
        env: { INSTANCE_ID: `${d}-a` },
        readyUrl: `http://127.0.0.1:${env[`${d.toUpperCase()}_PORT`]}/ready`,
      })),
      ...promotion.map((p) => ({
        name: p.id,
        file: p.entry,
        env: { INSTANCE_ID: p.id, PROMOTION_PORT: String(p.port) },
        readyUrl: `http://127.0.0.1:${p.port}/ready`,
      })),
    ]);
    const workers = await instances("workers", opts.workers ?? 2, "scripts/workers.ts");
    const gateways = await instances("gateway", opts.gateways ?? 2, "gateway/src/index.ts");
    await group.start([
      ...workers.map((w) => ({
        name: w.id,
        file: w.entry,
        env: { INSTANCE_ID: w.id, WORKERS_PORT: String(w.port) },
        readyUrl: `${w.url}/ready`,
      })),
      ...gateways.map((g) => ({
        name: g.id,
        file: g.entry,
        env: { INSTANCE_ID: g.id, GATEWAY_PORT: String(g.port) },
        readyUrl: `http://127.0.0.1:${g.port}/ready`,
      })),
    ]);
    const front = await startProxy({ targets: gateways.map((g) => `127.0.0.1:${g.port}`) });
    proxies.push(front);
    const strip = ({ id, port, url }: Instance) => ({ id, port, url });
    return {
      cfg,
      cluster,
      database,
      group,
      gateways: gateways.map(strip),
      promotion: promotion.map(strip),
      workers: workers.map(strip),
      front,
      promotionProxy,
      stop,
    };
  } catch (e) {
    const logs = group?.logs() ?? "";
    await stop();
    throw new Error(`${(e as Error).message}\n${logs}`, { cause: e });
  }
}
