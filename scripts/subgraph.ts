/**
 * `npm run subgraph -- <name>`: one subgraph's server alone (subgraphs/<name>/src/index.ts), so a
 * test or an operator can restart one process without the others. Its port, database and Redis come
 * from the same configuration as `npm start` (e.g. CART_PORT). `npm run gateway` and
 * `npm run workers` do the same for the gateway and the workers process.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { runnableDomains } from "./stack.ts";

const name = process.argv[2];
const domains = runnableDomains();
if (!name || !domains.includes(name)) {
  console.error(`usage: npm run subgraph -- <name>   (one of: ${domains.join(", ")})${name ? `; "${name}" is not a subgraph` : ""}`);
  process.exit(2);
}
const entry = path.resolve(import.meta.dirname, "..", "subgraphs", name, "src", "index.ts");
// Each subgraph's index.ts starts its server when it is the process's entry file: make it so.
process.argv.splice(1, 2, entry);
await import(pathToFileURL(entry).href);
