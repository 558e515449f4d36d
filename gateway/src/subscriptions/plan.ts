/** Planning a subscription (the rewritten `FEvent` query) and filtering events per subscriber (see ./index.ts). */
import type { Identity } from "@mallgraph/platform/auth";
import { ErrorCode } from "@mallgraph/platform/errors";
import type { LiveEvent } from "@mallgraph/platform/events";
import type { DocumentNode, FieldNode, GraphQLSchema, OperationDefinitionNode } from "graphql";
import { clientError } from "../errors.ts";
import { graphql } from "../graphql.ts";

const { Kind, getArgumentValues, getVariableValues, isObjectType, print } = graphql;

export interface SubscriptionPlan {
  /** The Subscription field F. */
  field: string;
  /** Where the payload sits in the result (the client's alias or F). */
  responseKey: string;
  /** The rewritten `FEvent` query, printed once. */
  query: string;
  operationName?: string;
  /** F's argument values (after variables), compared with each event's keys. */
  args: Record<string, unknown>;
}

export const EVENT_ID_VARIABLE = "__eventId";

/** Checks the subscription and rewrites it into the `FEvent` query. Throws GraphQLError. */
export function planSubscription(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): SubscriptionPlan {
  const roots = operation.selectionSet.selections;
  const root = roots[0];
  if (roots.length !== 1 || root?.kind !== Kind.FIELD) {
    throw clientError(ErrorCode.BAD_USER_INPUT, "a subscription must select exactly one field directly");
  }
  const subType = schema.getSubscriptionType();
  const fieldDef = subType?.getFields()[root.name.value];
  const queryType = schema.getQueryType();
  const eventName = `${root.name.value}Event`;
  const eventDef = queryType && isObjectType(queryType) ? queryType.getFields()[eventName] : undefined;
  if (!fieldDef || !eventDef) {
    throw clientError(ErrorCode.BAD_USER_INPUT, `subscription ${root.name.value} is not served (no Query.${eventName})`);
  }
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  // Bad variables (missing, null for non-null, wrong type) are the client's input, as over HTTP.
  if (coerced.errors) throw clientError(ErrorCode.BAD_USER_INPUT, coerced.errors[0]?.message ?? "bad variables");
  const args = getArgumentValues(fieldDef, root, coerced.coerced);

  const eventField: FieldNode = {
    ...root,
    alias: { kind: Kind.NAME, value: root.alias?.value ?? root.name.value },
    name: { kind: Kind.NAME, value: eventName },
    arguments: [
      ...(root.arguments ?? []),
      {
        kind: Kind.ARGUMENT,
        name: { kind: Kind.NAME, value: "eventId" },
        value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_ID_VARIABLE } },
      },
    ],
  };
  const query: OperationDefinitionNode = {
    ...operation,
    operation: "query" as OperationDefinitionNode["operation"],
    variableDefinitions: [
      ...(operation.variableDefinitions ?? []),
      {
        kind: Kind.VARIABLE_DEFINITION,
        variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: EVENT_ID_VARIABLE } },
        type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: "ID" } } },
      },
    ],
    selectionSet: { kind: Kind.SELECTION_SET, selections: [eventField] },
  };
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  return {
    field: root.name.value,
    responseKey: root.alias?.value ?? root.name.value,
    query: print({ kind: Kind.DOCUMENT, definitions: [query, ...fragments] }),
    operationName: operation.name?.value,
    args,
  };
}

/** Whether a subscriber with these arguments and this identity gets the event. */
export function eventMatches(event: LiveEvent, args: Record<string, unknown>, identity: Identity): boolean {
  for (const [k, v] of Object.entries(event.keys ?? {})) {
    const mine = args[k];
    // An argument the client left out watches every value; one it gave must be equal.
    if (mine !== undefined && mine !== null && String(mine) !== String(v)) return false;
  }
  if (event.audience && !(identity.id && event.audience.includes(identity.id))) return false;
  if (event.sessions && !(identity.sessionId && event.sessions.includes(identity.sessionId))) return false;
  return true;
}
