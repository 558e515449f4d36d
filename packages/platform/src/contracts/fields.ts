/**
 * Field lists of the cross-domain contracts. Each contract type comes with the list of its fields:
 * `fieldsOf<T>()(...)` only compiles when the list names every field of T and nothing else, the
 * callers build their selection sets from the list, and a test (packages/platform/test/contracts.test.ts)
 * checks the list against the provider's SDL — so the TypeScript type, the query a caller sends and
 * the provider's schema cannot drift apart.
 */
export type FieldList<T> = ReadonlyArray<keyof T & string>;

/** `fieldsOf<SkuSnapshot>()("id", "spuId", ...)`: every field of T, each once. */
export function fieldsOf<T>() {
  return <const L extends FieldList<T>>(
    ...fields: Exclude<keyof T, L[number]> extends never ? L : ["missing fields", Exclude<keyof T, L[number]>]
  ) => fields as L;
}

/** The selection set of a field list: `{ id spuId title }`. */
export const selection = (fields: readonly string[]) => `{ ${fields.join(" ")} }`;
