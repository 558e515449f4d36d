/**
 * `npm start`: generate clients, migrate, seed the demo data, then boot every subgraph, the workers
 * and the gateway, and print the URL. Needs PostgreSQL and Redis: when they are not reachable it says
 * so, and starts them with docker compose when Docker is available (scripts/services.ts).
 */
import { loadConfig } from "../packages/platform/src/config.ts";
import { ensureServices } from "./services.ts";
import { setup } from "./setup.ts";
import { startStack } from "./stack.ts";

const config = loadConfig();

try {
  await ensureServices(config, { waitMs: Number(process.env.MALLGRAPH_SERVICES_WAIT_SECONDS ?? 90) * 1000 });
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
