/**
 * Loads the demo data: runs `seed(config)` of every subgraphs/<d>/src/seed.ts, in domain order.
 * Every seed is idempotent (upserts), so `npm start` may run it on every boot.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { DOMAINS, loadConfig, type Config } from "../packages/platform/src/config.ts";

const root = path.resolve(import.meta.dirname, "..");

export async function seedAll(config: Config): Promise<void> {
  for (const d of DOMAINS) {
    const file = path.join(root, "subgraphs", d, "src", "seed.ts");
    if (!existsSync(file)) continue;
    const mod = (await import(file)) as { seed: (c: Config) => Promise<string | undefined> };
    const summary = await mod.seed(config);
    console.log(`seeded ${d}${summary ? `: ${summary}` : ""}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  seedAll(loadConfig())
    .then(() => process.exit(0))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
