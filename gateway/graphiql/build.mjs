// Bundles GraphiQL (app.js + React + graphql-ws) for the browser with esbuild, next to the package's
// prebuilt stylesheet: src/generated/graphiql/{graphiql.js,graphiql.css}. Run by `npm run generate`.
// No CDN: the gateway serves these files itself (development only).
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { build } from "esbuild";

const here = import.meta.dirname;
const out = path.join(here, "../src/generated/graphiql");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [path.join(here, "app.js")],
  outfile: path.join(out, "graphiql.js"),
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  define: { "process.env.NODE_ENV": '"production"', global: "globalThis" },
  legalComments: "none",
  logLevel: "warning",
});
const require = createRequire(import.meta.url);
copyFileSync(path.join(path.dirname(require.resolve("graphiql/package.json")), "graphiql.min.css"), path.join(out, "graphiql.css"));
