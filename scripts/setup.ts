/**
 * Prepares a database for the platform: generates the Prisma and GraphQL clients, applies every
 * domain's migrations and loads the demo data. `npm start` runs it before booting; the
 * docker-compose `setup` service runs it alone (`npm run setup`, or `tsx scripts/setup.ts --no-generate`
 * in the image's `tools` stage, where the clients were generated at build time).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { loadConfig, type Config } from "../packages/platform/src/config.ts";
import { migrate } from "./migrate.ts";
import { seedAll } from "./seed.ts";

const root = path.resolve(import.meta.dirname, "..");

export function generate(): void {
  execFileSync(path.join(root, "node_modules/.bin/turbo"), ["run", "generate", "--output-logs=errors-only"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  });
}

export async function setup(config: Config, opts: { generate?: boolean } = {}): Promise<void> {
  if (opts.generate !== false) {
    console.log("generating clients…");
    generate();
  }
  console.log("migrating…");
  await migrate(config);
  console.log("seeding demo data…");
  await seedAll(config);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // --no-generate: the clients are already there (the container image's `tools` stage).
  setup(loadConfig(), { generate: !process.argv.includes("--no-generate") })
    .then(() => process.exit(0))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
