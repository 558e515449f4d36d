/**
 * Composes schema/supergraph.graphql from every subgraphs/<name>/schema.graphql
 * (Apollo Federation 2 composition). `--check` fails when composition reports errors or the
 * checked-in supergraph differs from a fresh composition (CI runs it before the tests).
 */
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { DOMAINS, loadConfig, subgraphUrl, type Domain } from "../packages/platform/src/config.ts";

const root = path.resolve(import.meta.dirname, "..");
const out = path.join(root, "schema", "supergraph.graphql");

export function subgraphSdls(): Array<{ name: Domain; typeDefs: string }> {
  const dir = path.join(root, "subgraphs");
  const present = new Set(readdirSync(dir).filter((d) => existsSync(path.join(dir, d, "schema.graphql"))));
  return DOMAINS.filter((d) => present.has(d)).map((name) => ({
    name,
    typeDefs: readFileSync(path.join(dir, name, "schema.graphql"), "utf8"),
  }));
}

export function composeSupergraph(): string {
  const config = loadConfig({} as NodeJS.ProcessEnv); // default URLs: the file must not depend on the environment
  const result = composeServices(
    subgraphSdls().map((s) => ({ name: s.name, url: subgraphUrl(config, s.name), typeDefs: parse(s.typeDefs) })),
  );
  if (result.errors?.length) {
    throw new Error(`composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join("\n")}`);
  }
  return result.supergraphSdl + "\n";
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes("--check");
  let sdl: string;
  try {
    sdl = composeSupergraph();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
  if (check) {
    const current = existsSync(out) ? readFileSync(out, "utf8") : "";
    if (current !== sdl) {
      console.error("schema/supergraph.graphql is stale: run `npm run compose` and commit the result");
      process.exit(1);
    }
    console.log("supergraph: composition ok and schema/supergraph.graphql is current");
  } else {
    writeFileSync(out, sdl);
    console.log(
      `wrote ${path.relative(root, out)} (${subgraphSdls()
        .map((s) => s.name)
        .join(", ")})`,
    );
  }
}
