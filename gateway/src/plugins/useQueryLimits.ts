/**
 * useQueryLimits: refuses an operation before it runs when it is too deep or too costly.
 * - depth: nesting of fields (a root field is depth 1), fragments followed; introspection
 *   (`__schema`, `__type`, `__typename`) is not counted.
 * - cost: every field costs 1 × the product of the list sizes above it; a list field's size is its
 *   `first`/`last`/`limit`/`take`/`pageSize` argument (literal or variable) or `defaultListSize`.
 * → QUERY_TOO_DEEP / QUERY_TOO_COSTLY (HTTP 400) with the measured value and the limit.
 * The measure is computed once per parsed document and operation (Apollo Server hands out the same
 * DocumentNode for the same query text) unless a list size comes from a variable.
 */
import { ErrorCode } from "@mallgraph/platform/errors";
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type GraphQLNamedType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type FieldNode,
} from "graphql";
import { gatewayError } from "../errors.ts";
import { graphql } from "../graphql.ts";

const { Kind, getNamedType, getNullableType, isListType, isObjectType, isInterfaceType } = graphql;
import type { GatewayPlugin } from "./types.ts";

export interface QueryLimitOptions {
  maxDepth: number;
  maxCost: number;
  defaultListSize?: number;
}

const SIZE_ARGS = new Set(["first", "last", "limit", "take", "pageSize"]);

export interface Measure {
  depth: number;
  cost: number;
  /** A list size was read from the variables: the measure holds for these variables only. */
  usesVariables?: boolean;
}

export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  defaultListSize = 10,
): Measure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root = schema.getRootType(operation.operation) as GraphQLNamedType | undefined;
  let maxDepth = 0;
  let cost = 0;
  let usesVariables = false;

  const listSize = (field: FieldNode): number => {
    for (const a of field.arguments ?? []) {
      if (!SIZE_ARGS.has(a.name.value)) continue;
      if (a.value.kind === Kind.INT) return Math.max(1, Number(a.value.value));
      if (a.value.kind === Kind.VARIABLE) {
        usesVariables = true;
        const v = Number(variables[a.value.name.value]);
        if (Number.isFinite(v) && v > 0) return v;
      }
    }
    return defaultListSize;
  };

  const walk = (set: SelectionSetNode, type: GraphQLNamedType | undefined, depth: number, multiplier: number, seen: Set<string>) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith("__")) continue;
        cost += multiplier;
        if (depth + 1 > maxDepth) maxDepth = depth + 1;
        if (!sel.selectionSet) continue;
        const def = type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[sel.name.value] : undefined;
        const fieldType = def?.type;
        const isList = fieldType ? isListType(getNullableType(fieldType)) : false;
        walk(sel.selectionSet, fieldType ? getNamedType(fieldType) : undefined, depth + 1, multiplier * (isList ? listSize(sel) : 1), seen);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        walk(sel.selectionSet, t ?? undefined, depth, multiplier, seen);
      } else {
        const name = sel.name.value;
        const frag = fragments.get(name);
        if (!frag || seen.has(name)) continue;
        const next = new Set(seen).add(name);
        walk(frag.selectionSet, schema.getType(frag.typeCondition.name.value) ?? undefined, depth, multiplier, next);
      }
    }
  };
  walk(operation.selectionSet, root, 0, 1, new Set());
  return usesVariables ? { depth: maxDepth, cost, usesVariables } : { depth: maxDepth, cost };
}

export function useQueryLimits(opts: QueryLimitOptions): GatewayPlugin {
  /** document → operation → its measure (only measures that do not depend on the variables). */
  const measured = new WeakMap<DocumentNode, WeakMap<OperationDefinitionNode, Measure>>();
  return {
    name: "query-limits",
    onOperation({ schema, document, operation, variables }) {
      let byOperation = measured.get(document);
      let m = byOperation?.get(operation);
      if (!m) {
        m = measureOperation(schema, document, operation, variables, opts.defaultListSize);
        if (!m.usesVariables) {
          if (!byOperation) measured.set(document, (byOperation = new WeakMap()));
          byOperation.set(operation, m);
        }
      }
      if (m.depth > opts.maxDepth) {
        throw gatewayError(ErrorCode.QUERY_TOO_DEEP, `query depth ${m.depth} exceeds the limit of ${opts.maxDepth}`, {
          depth: m.depth,
          maxDepth: opts.maxDepth,
        });
      }
      if (m.cost > opts.maxCost) {
        throw gatewayError(ErrorCode.QUERY_TOO_COSTLY, `query cost ${m.cost} exceeds the limit of ${opts.maxCost}`, {
          cost: m.cost,
          maxCost: opts.maxCost,
        });
      }
    },
  };
}
