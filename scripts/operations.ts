/**
 * Builds schema/operations/manifest.json — the trusted (persisted) operation manifest — from the
 * contract operations (every `schema/operations/*.graphql`, the product's own copy of the contract):
 * Apollo's persisted-query manifest format, so Apollo's own tooling reads it:
 * `{ format: "apollo-persisted-query-manifest", version: 1, operations: [{ id: sha256(body), name, type, body }] }`,
 * body being the operation as printed by graphql's printer (fragments it uses appended), type
 * `query` | `mutation` | `subscription`. Partner clients may run only these operations
 * (by id, e.g. as an APQ hash, or by sending the same document). `--check` fails when the file is stale.
 * `--validate` checks every manifest operation against schema/supergraph.graphql and that every
 * Subscription field F has its `Query.FEvent(F's args…, eventId: ID!)` (the gateway's rule).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Kind, parse, print, visit, type DefinitionNode, type FragmentDefinitionNode, type GraphQLSchema } from "graphql";

const root = path.resolve(import.meta.dirname, "..");
export const MANIFEST_FILE = path.join(root, "schema", "operations", "manifest.json");
export const OPERATIONS_DIR = path.join(root, "schema", "operations");

/** The contract: every `*.graphql` file of schema/operations, in name order, as one document. */
export function readContract(dir = OPERATIONS_DIR): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".graphql"))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), "utf8"))
    .join("\n");
}

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
      return { id: createHash("sha256").update(body).digest("hex"), name: op.name.value, type: op.operation, body };
    });
  const names = new Set<string>();
  for (const o of operations) {
    if (names.has(o.name)) throw new Error(`duplicate operation name ${o.name}`);
    names.add(o.name);
  }
  return { format: "apollo-persisted-query-manifest" as const, version: 1 as const, operations };
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
    for (const a of f.args)
      if (evArgs.get(a.name) !== String(a.type)) problems.push(`Query.${f.name}Event: needs argument ${a.name}: ${a.type}`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes("--validate")) {
    const manifest = JSON.parse(readFileSync(MANIFEST_FILE, "utf8"));
    const problems = validateManifest(readFileSync(path.join(root, "schema", "supergraph.graphql"), "utf8"), manifest);
    for (const p of problems) console.error(`  - ${p}`);
    console.log(
      problems.length
        ? `operations: ${problems.length} problem(s) against schema/supergraph.graphql`
        : "operations: every trusted operation validates",
    );
    process.exit(problems.length ? 1 : 0);
  }
  const compare = args.indexOf("--compare");
  if (compare >= 0) {
    // By hand only: compare the product's copy with another copy of the contract (a file).
    const other = args[compare + 1];
    if (!other || !existsSync(other)) {
      console.error("usage: tsx scripts/operations.ts --compare <operations.graphql>");
      process.exit(2);
    }
    const ours = new Map(buildManifest(readContract()).operations.map((o) => [o.name, o.id]));
    const theirs = new Map(buildManifest(readFileSync(other, "utf8")).operations.map((o) => [o.name, o.id]));
    const lines: string[] = [];
    for (const [name, id] of theirs) {
      if (!ours.has(name)) lines.push(`missing here: ${name}`);
      else if (ours.get(name) !== id) lines.push(`differs:      ${name}`);
    }
    for (const name of ours.keys()) if (!theirs.has(name)) lines.push(`only here:    ${name}`);
    for (const l of lines) console.log(l);
    console.log(
      `operations: ${theirs.size - lines.filter((l) => !l.startsWith("only")).length} of ${theirs.size} operations of ${other} are here unchanged`,
    );
    process.exit(lines.some((l) => !l.startsWith("only")) ? 1 : 0);
  }
  const check = args.includes("--check");
  const json = JSON.stringify(buildManifest(readContract()), null, 2) + "\n";
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
    console.log(
      `wrote ${path.relative(root, MANIFEST_FILE)} (${JSON.parse(json).operations.length} operations from schema/operations/*.graphql)`,
    );
  }
}
