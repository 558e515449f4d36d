/**
 * Builds schema/operations/manifest.json — the trusted (persisted) operation manifest — from the
 * contract operations (/work/shared/contract/operations.graphql, or the file given as argument):
 * `{ operations: [{ id: sha256(body), name, body }] }`, body being the operation as printed by
 * graphql's printer (fragments it uses appended). Partner clients may run only these operations
 * (by id, e.g. as an APQ hash, or by sending the same document). `--check` fails when the file is stale.
 * `--validate` checks every manifest operation against schema/supergraph.graphql and that every
 * Subscription field F has its `Query.FEvent(F's args…, eventId: ID!)` (the gateway's rule).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { Kind, parse, print, visit, type DefinitionNode, type FragmentDefinitionNode, type GraphQLSchema } from "graphql";

const root = path.resolve(import.meta.dirname, "..");
export const MANIFEST_FILE = path.join(root, "schema", "operations", "manifest.json");
/** The shared contract sits beside the project checkout (`../shared`), as on the team machines and in CI. */
export const DEFAULT_SOURCE = process.env.OPERATIONS_SOURCE ?? path.resolve(root, "../shared/contract/operations.graphql");

export function buildManifest(source: string) {
  const doc = parse(source, { noLocation: true });
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const used = (node: DefinitionNode, acc = new Set<string>()): Set<string> => {
    visit(node, {
      FragmentSpread(s) {
        if (acc.has(s.name.value)) return;
        acc.add(s.name.value);
        const f = fragments.get(s.name.value);
        if (f) used(f, acc);
      },
    });
    return acc;
  };
  const operations = doc.definitions
    .filter((d) => d.kind === Kind.OPERATION_DEFINITION)
    .map((op) => {
      if (!op.name) throw new Error("every trusted operation needs a name");
      const defs = [op, ...[...used(op)].sort().map((n) => fragments.get(n)!)];
      const body = print({ kind: Kind.DOCUMENT, definitions: defs });
      return { id: createHash("sha256").update(body).digest("hex"), name: op.name.value, body };
    });
  const names = new Set<string>();
  for (const o of operations) {
    if (names.has(o.name)) throw new Error(`duplicate operation name ${o.name}`);
    names.add(o.name);
  }
  return { operations };
}

/** Problems of the manifest against a supergraph SDL: invalid operations, subscriptions lacking FEvent. */
export function validateManifest(supergraphSdl: string, manifest: ReturnType<typeof buildManifest>): string[] {
  // graphql and federation-internals as CommonJS: one graphql instance for the schema and validate().
  const require = createRequire(import.meta.url);
  const g = require("graphql") as typeof import("graphql");
  const { Supergraph } = require("@apollo/federation-internals");
  const api: GraphQLSchema = Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();
  const problems: string[] = [];
  for (const op of manifest.operations) {
    const errors = g.validate(api, g.parse(op.body));
    if (errors.length) problems.push(`${op.name}: ${errors.map((e) => e.message).join("; ")}`);
  }
  const query = api.getQueryType()?.getFields() ?? {};
  for (const f of Object.values(api.getSubscriptionType()?.getFields() ?? {})) {
    const ev = query[`${f.name}Event`];
    if (!ev) {
      problems.push(`Subscription.${f.name}: no Query.${f.name}Event(…, eventId: ID!)`);
      continue;
    }
    const evArgs = new Map(ev.args.map((a) => [a.name, String(a.type)]));
    if (evArgs.get("eventId") !== "ID!") problems.push(`Query.${f.name}Event: needs eventId: ID!`);
    for (const a of f.args) if (evArgs.get(a.name) !== String(a.type)) problems.push(`Query.${f.name}Event: needs argument ${a.name}: ${a.type}`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes("--validate")) {
    const manifest = JSON.parse(readFileSync(MANIFEST_FILE, "utf8"));
    const problems = validateManifest(readFileSync(path.join(root, "schema", "supergraph.graphql"), "utf8"), manifest);
    for (const p of problems) console.error(`  - ${p}`);
    console.log(problems.length ? `operations: ${problems.length} problem(s) against schema/supergraph.graphql` : "operations: every trusted operation validates");
    process.exit(problems.length ? 1 : 0);
  }
  const check = args.includes("--check");
  const source = args.find((a) => !a.startsWith("--")) ?? DEFAULT_SOURCE;
  if (check && !existsSync(source)) {
    console.log(`operations: ${source} is not here (a clone without ../shared); manifest not checked`);
    process.exit(0);
  }
  const json = JSON.stringify(buildManifest(readFileSync(source, "utf8")), null, 2) + "\n";
  if (check) {
    const current = existsSync(MANIFEST_FILE) ? readFileSync(MANIFEST_FILE, "utf8") : "";
    if (current !== json) {
      console.error("schema/operations/manifest.json is stale: run `npx tsx scripts/operations.ts`");
      process.exit(1);
    }
    console.log("operations: manifest is current");
  } else {
    mkdirSync(path.dirname(MANIFEST_FILE), { recursive: true });
    writeFileSync(MANIFEST_FILE, json);
    console.log(`wrote ${path.relative(root, MANIFEST_FILE)} (${JSON.parse(json).operations.length} operations from ${source})`);
  }
}
