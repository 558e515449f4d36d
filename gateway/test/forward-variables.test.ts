/**
 * The forwarded path checks built-in scalar variables without graphql-js's coercion
 * (src/forward.ts `scalarsCoerce`). It may only say "fine" where graphql-js coerces without an
 * error: every scalar, nullability and default against a table of JSON values, compared with
 * `getVariableValues` on the same definitions.
 */
import { buildSchema, getVariableValues, parse, type OperationDefinitionNode } from "graphql";
import { describe, expect, it } from "vitest";
import { scalarsCoerce, scalarVariables } from "../src/forward.ts";

// every built-in scalar in the schema (a document using one the schema lacks fails validation before this)
const schema = buildSchema(`type Query { ok(a: ID, b: String, c: Int, d: Float, e: Boolean): Boolean }`);
const VALUES: unknown[] = [
  undefined,
  null,
  "",
  "abc",
  "12",
  0,
  1,
  -1,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  1.5,
  Number.MAX_SAFE_INTEGER,
  1e300,
  true,
  false,
  [],
  ["a"],
  {},
  { a: 1 },
];
const TYPES = ["ID", "String", "Int", "Float", "Boolean"];
const DEFAULTS: Record<string, string> = { ID: '"d"', String: '"d"', Int: "1", Float: "1.5", Boolean: "true" };

function operationOf(type: string, nonNull: boolean, withDefault: boolean): OperationDefinitionNode {
  const def = `$v: ${type}${nonNull ? "!" : ""}${withDefault ? ` = ${DEFAULTS[type]}` : ""}`;
  return parse(`query Q(${def}) { ok }`).definitions[0] as OperationDefinitionNode;
}

describe("built-in scalar variables on the forwarded path", () => {
  it("says fine only where graphql-js coerces without an error, and is fine for the plain cases", () => {
    let fine = 0;
    for (const type of TYPES)
      for (const nonNull of [false, true])
        for (const withDefault of [false, true])
          for (const value of VALUES) {
            const operation = operationOf(type, nonNull, withDefault);
            const defs = scalarVariables(operation);
            expect(defs).not.toBeNull();
            const provided = value === undefined ? {} : { v: value };
            const ours = scalarsCoerce(defs!, provided);
            const theirs = !getVariableValues(schema, operation.variableDefinitions ?? [], provided).errors;
            if (ours) {
              fine++;
              expect({ type, nonNull, withDefault, value, theirs }).toEqual({ type, nonNull, withDefault, value, theirs: true });
            }
          }
    // the cases the shop sends (a string ID, an Int, a String) are recognised, not all sent to coercion
    expect(scalarsCoerce(scalarVariables(operationOf("ID", true, false))!, { v: "x" })).toBe(true);
    expect(scalarsCoerce(scalarVariables(operationOf("Int", true, false))!, { v: 3 })).toBe(true);
    expect(fine).toBeGreaterThan(60);
  });

  it("leaves lists, input objects and custom scalars to graphql-js", () => {
    const op = (text: string) => parse(text).definitions[0] as OperationDefinitionNode;
    expect(scalarVariables(op(`query Q($v: [ID!]) { ok }`))).toBeNull();
    expect(scalarVariables(op(`query Q($v: SomeInput!) { ok }`))).toBeNull();
    expect(scalarVariables(op(`query Q($v: DateTime) { ok }`))).toBeNull();
    expect(scalarVariables(op(`query Q { ok }`))).toEqual([]);
  });
});
