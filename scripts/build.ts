/**
 * `npm run build`: compiles every workspace (packages, gateway, subgraphs, the workers' entry) to
 * JavaScript in `dist/`, laid out like the repository so that every path a module reads relative to
 * itself (schema.graphql, Lua scripts, schema/supergraph.graphql, the operation manifest) holds:
 *
 *   dist/gateway/src/index.js  dist/subgraphs/<d>/src/{index,worker}.js  dist/scripts/workers.js
 *   dist/packages/platform/    (package.json exporting ./src/*.js)
 *   dist/package.json, dist/package-lock.json and every workspace's package.json
 *
 * so that `cd dist && npm ci --omit=dev` gives a runnable tree (the Dockerfile does exactly that) and
 * `node dist/gateway/src/index.js` runs without tsx. Expects `npm run generate` to have run (Prisma
 * clients, codegen types, the GraphiQL bundle): `npm run build` does it first.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

/** Files next to the sources that the built code reads at run time. */
function assets(): string[] {
  const out = ["schema/supergraph.graphql", "package.json", "package-lock.json"];
  for (const f of readdirSync(path.join(root, "schema/operations"))) out.push(`schema/operations/${f}`);
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(root, dir))) {
      const rel = `${dir}/${e}`;
      if (statSync(path.join(root, rel)).isDirectory()) walk(rel);
      else if (e.endsWith(".lua")) out.push(rel);
    }
  };
  for (const ws of [
    "gateway",
    ...readdirSync(path.join(root, "subgraphs")).map((d) => `subgraphs/${d}`),
    ...readdirSync(path.join(root, "packages")).map((d) => `packages/${d}`),
  ]) {
    out.push(`${ws}/package.json`);
    if (existsSync(path.join(root, ws, "schema.graphql"))) out.push(`${ws}/schema.graphql`);
    walk(`${ws}/src`);
  }
  return out;
}

export function build(outDir = path.join(root, "dist")): void {
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(path.join(root, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json", "--outDir", outDir], {
    cwd: root,
    stdio: "inherit",
  });
  for (const rel of assets()) {
    mkdirSync(path.dirname(path.join(outDir, rel)), { recursive: true });
    copyFileSync(path.join(root, rel), path.join(outDir, rel));
  }
  const graphiql = path.join(root, "gateway/src/generated/graphiql");
  if (existsSync(graphiql)) cpSync(graphiql, path.join(outDir, "gateway/src/generated/graphiql"), { recursive: true });
  // The workspace packages resolve to the compiled files.
  for (const d of readdirSync(path.join(outDir, "packages"))) {
    const file = path.join(outDir, "packages", d, "package.json");
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    if (pkg.exports) pkg.exports = JSON.parse(JSON.stringify(pkg.exports).replace(/\.ts"/g, '.js"'));
    writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  build(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
