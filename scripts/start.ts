/**
 * `npm start`: generate clients, migrate, seed the demo data, then boot every subgraph, the workers
 * and the gateway, and print the URL. Needs PostgreSQL and Redis (see README).
 */
import pg from "pg";
import { Redis } from "ioredis";
import { loadConfig } from "../packages/platform/src/config.ts";
import { setup } from "./setup.ts";
import { startStack } from "./stack.ts";

const config = loadConfig();

async function checkServices(): Promise<void> {
  const u = new URL(config.DATABASE_URL);
  u.pathname = "/postgres";
  const c = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.end();
  } catch (e) {
    throw new Error(`PostgreSQL is not reachable at ${u.host} (${(e as Error).message}). Start it, or set DATABASE_URL.`);
  }
  const r = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    throw new Error(`Redis is not reachable at ${config.REDIS_URL} (${(e as Error).message}). Start it, or set REDIS_URL.`);
  } finally {
    r.disconnect();
  }
}

try {
  await checkServices();
  await setup(config);
  console.log("starting subgraphs, workers and gateway…");
  const stack = await startStack({ stdio: "inherit" });
  console.log(`\n  mallgraph is up: ${stack.gatewayUrl}  (subscriptions: ${stack.gatewayUrl.replace("http", "ws")})\n`);
  const shutdown = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
} catch (e) {
  console.error(`\nmallgraph did not start: ${(e as Error).message}`);
  process.exit(1);
}
