/**
 * Bad input, generated for every contract operation from its variable definitions and the public
 * schema (nothing listed per operation): values graphql refuses (wrong types, null for non-null,
 * unknown enum values and input fields, out-of-range Int, missing required variables, deep nesting,
 * variables that are not an object) and values it lets through (empty and blank strings, NUL bytes,
 * 100 KB strings, zero/negative/huge numbers, malformed and foreign ids, bad money and currencies),
 * plus a 10 MB body (HTTP 413). Each case changes one leaf of an otherwise plausible input, so the
 * service's check of that leaf is what answers.
 */
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  parse,
  typeFromAST,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";

export type Kind =
  /** graphql itself must refuse it before anything runs */
  | "graphql"
  /** graphql lets it through: the service must refuse it (mutations) or answer it harmlessly (queries) */
  | "domain"
  /** the body is over the gateway's limit: HTTP 413 */
  | "oversized";

export interface Case {
  operation: string;
  type: "query" | "mutation" | "subscription";
  /** Where and what, e.g. `$input.phone = ""`. */
  label: string;
  kind: Kind;
  variables: unknown;
  /** An id inside a list of ids: bulk operations may ignore ids that are not the caller's (checked by state). */
  idInList?: boolean;
  /** The variables as JSON text, when JSON.stringify cannot build them (deep nesting). */
  rawVariables?: string;
}

/** Known-good values by leaf name (lower case), filled in by the suite from its own setup. */
export type Pool = Record<string, unknown>;

/** Values of other members' objects, tried for every ID leaf. */
export interface Foreign {
  ids: string[];
}

const MONEY = /amount|price|balance|threshold|discount/i;
const CURRENCY = /currency/i;

function plausibleScalar(name: string, typeName: string, pool: Pool): unknown {
  const known = pool[name.toLowerCase()];
  if (known !== undefined) return known;
  if (CURRENCY.test(name)) return "CNY";
  if (MONEY.test(name)) return "10.00";
  if (/at$/i.test(name) && typeName === "String") return new Date(Date.now() + 3_600_000).toISOString();
  switch (typeName) {
    case "Int":
      return 1;
    case "Float":
      return 1;
    case "Boolean":
      return true;
    case "ID":
      return "1";
    default:
      return "bad-input test";
  }
}

/** A plausible value of `type` (required input fields only). */
export function plausible(name: string, type: GraphQLInputType, pool: Pool): unknown {
  if (isNonNullType(type)) return plausible(name, type.ofType, pool);
  if (isListType(type)) return [plausible(name, type.ofType, pool)];
  if (isEnumType(type)) return pool[name.toLowerCase()] ?? type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(type.getFields())) if (isNonNullType(f.type)) out[f.name] = plausible(f.name, f.type, pool);
    return out;
  }
  return plausibleScalar(name, type.name, pool);
}

interface Bad {
  label: string;
  kind: Kind;
  value: unknown;
}

const HUGE = "x".repeat(100_000);

/** Bad values for one leaf of type `type` named `name`. */
export function badValues(name: string, type: GraphQLInputType, foreign: Foreign): Bad[] {
  const out: Bad[] = [];
  const g = (label: string, value: unknown) => out.push({ label, kind: "graphql", value });
  const d = (label: string, value: unknown) => out.push({ label, kind: "domain", value });
  if (isNonNullType(type)) {
    g("null", null);
    type = type.ofType;
  }
  if (isListType(type)) {
    g("a scalar for a list", isInputObjectType(getNamedType(type)) ? 7 : { not: "a list" });
    if (isNonNullType(type.ofType)) g("[null]", [null]);
    return out;
  }
  if (isEnumType(type)) {
    g("unknown enum value", "NOT_A_VALUE");
    g("enum value in lower case", String(type.getValues()[0]!.value).toLowerCase());
    return out;
  }
  if (isInputObjectType(type)) {
    g("a string for an object", "{}");
    g("an unknown field", { __unknownField: 1 });
    return out;
  }
  switch (type.name) {
    case "Int":
      g("a string", "12");
      g("a fraction", 1.5);
      g("2^31", 2 ** 31);
      d("0", 0);
      d("-1", -1);
      d("INT_MAX", 2_147_483_647);
      d("INT_MIN", -2_147_483_648);
      break;
    case "Float":
      g("a string", "1");
      d("0", 0);
      d("-1", -1);
      d("1e308", 1e308);
      break;
    case "Boolean":
      g("a string", "yes");
      g("a number", 1);
      break;
    case "ID":
      g("an object", { id: 1 });
      g("a boolean", true);
      d("empty", "");
      d("blank", "   ");
      d("malformed", "not-an-id");
      d("zero uuid", "00000000-0000-0000-0000-000000000000");
      d("-1", "-1");
      d("SQL", "1' OR '1'='1");
      d("NUL", "a\u0000b");
      d("100 KB", HUGE);
      for (const id of foreign.ids) d(`another member's id ${id}`, id);
      break;
    default:
      // String and custom scalars sent as strings
      g("a number", 12345);
      g("a list", ["a"]);
      d("empty", "");
      d("blank", "   ");
      d("NUL", "a\u0000b");
      d("100 KB", HUGE);
      if (MONEY.test(name)) {
        for (const v of ["-1.00", "0", "0.001", "abc", "1e309", "NaN", "99999999999999999999999.99"]) d(`money ${v}`, v);
      }
      if (CURRENCY.test(name)) for (const v of ["XXX", "usd", "EURO"]) d(`currency ${v}`, v);
  }
  return out;
}

/** `{ ...base, [name]: {"a":{"a":…{"leaf":1}…}} }` as JSON text (too deep for JSON.stringify). */
function nestedJson(base: Record<string, unknown>, name: string, depth: number): string {
  const marker = "\u0000nested\u0000";
  return JSON.stringify({ ...base, [name]: marker }).replace(
    JSON.stringify(marker),
    '{"a":'.repeat(depth) + '{"leaf":1}' + "}".repeat(depth),
  );
}

/** Every case of one manifest operation. */
export function casesFor(schema: GraphQLSchema, body: string, pool: Pool, foreign: Foreign): Case[] {
  const op = parse(body).definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition")!;
  const name = op.name!.value;
  const type = op.operation as Case["type"];
  const vars = (op.variableDefinitions ?? []).map((v) => ({
    name: v.variable.name.value,
    type: typeFromAST(schema, v.type as any) as GraphQLInputType,
  }));
  const base: Record<string, unknown> = {};
  for (const v of vars) if (isNonNullType(v.type)) base[v.name] = plausible(v.name, v.type, pool);
  const cases: Case[] = [];
  const add = (label: string, kind: Kind, variables: unknown, rawVariables?: string) =>
    cases.push({ operation: name, type, label, kind, variables, rawVariables });

  // the whole request
  add("variables is a string", "graphql", "not an object");
  add("10 MB string", "oversized", { ...base, [vars[0]?.name ?? "junk"]: "x".repeat(10 * 1024 * 1024) });
  for (const v of vars) {
    if (isNonNullType(v.type)) {
      const { [v.name]: _gone, ...rest } = base;
      add(`$${v.name} missing`, "graphql", rest);
    }
    add(`$${v.name} nested 5000 deep`, "graphql", undefined, nestedJson(base, v.name, 5000));
  }
  // one leaf at a time, the rest plausible
  const walk = (path: string, leafName: string, t: GraphQLInputType, set: (value: unknown) => Record<string, unknown>) => {
    for (const b of badValues(leafName, t, foreign)) add(`${path} = ${b.label}`, b.kind, set(b.value));
    const inner = isNonNullType(t) ? t.ofType : t;
    const named = getNamedType(inner);
    if (isInputObjectType(named)) {
      const list = isListType(inner) || (isNonNullType(inner) && isListType((inner as any).ofType));
      const baseObj = plausible(leafName, named, pool) as Record<string, unknown>;
      for (const f of Object.values(named.getFields())) {
        walk(`${path}${list ? "[0]" : ""}.${f.name}`, f.name, f.type, (value) => {
          const obj = { ...baseObj, [f.name]: value };
          return set(list ? [obj] : obj);
        });
      }
    } else if (isListType(inner) || (isNonNullType(inner) && isListType((inner as any).ofType))) {
      const el = (isListType(inner) ? inner.ofType : (inner as any).ofType.ofType) as GraphQLInputType;
      for (const b of badValues(leafName, el, foreign)) {
        if (b.kind === "domain")
          cases.push({
            operation: name,
            type,
            label: `${path}[0] = ${b.label}`,
            kind: b.kind,
            variables: set([b.value]),
            idInList: getNamedType(el).name === "ID",
          });
      }
    }
  };
  for (const v of vars) walk(`$${v.name}`, v.name, v.type, (value) => ({ ...base, [v.name]: value }));
  return cases;
}

/** Signs of internal detail in a client-facing message. */
export const INTERNAL_DETAIL = [
  /\n\s+at /,
  /\bat \S+ \(.*:\d+:\d+\)/,
  /\.(ts|js|mjs|cjs):\d+/,
  /node_modules/,
  /\/(work|home|usr|app|src)\//,
  /prisma/i,
  /invocation/i,
  /\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET|WHERE)\b/,
  /\bP\d{4}\b/,
  /ECONN|ETIMEDOUT|EPIPE/,
  /violates .* constraint/i,
  /syntax error at or near/i,
  /column .* does not exist/i,
  /relation .* does not exist/i,
  /invalid byte sequence|invalid input syntax/i,
  /Maximum call stack/i,
  /Cannot read propert/i,
  /is not a function|undefined is not/i,
];
