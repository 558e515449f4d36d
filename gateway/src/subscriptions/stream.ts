/** One client's stream of live events: queued (bounded), run one at a time (see ./index.ts). */
import { randomUUID } from "node:crypto";
import { ErrorCode } from "@mallgraph/platform/errors";
import type { LiveEvent } from "@mallgraph/platform/events";
import type { Logger } from "@mallgraph/platform/log";
import type { FormattedExecutionResult } from "graphql";
import type { GatewayMetrics } from "../metrics.ts";
import type { GatewayContext } from "../plugins/types.ts";
import type { LiveEventHub } from "./hub.ts";
import { EVENT_ID_VARIABLE, eventMatches, type SubscriptionPlan } from "./plan.ts";

export type Execute = (
  request: { query: string; variables: Record<string, unknown>; operationName?: string },
  context: GatewayContext,
) => Promise<FormattedExecutionResult>;

export interface StreamOptions {
  hub: LiveEventHub;
  plan: SubscriptionPlan;
  variables: Record<string, unknown>;
  context: GatewayContext;
  execute: Execute;
  bufferSize: number;
  /** Runs each execution in the caller's turn, shared by identical ones (`key`; limits.ts). */
  schedule: (key: string, fn: () => Promise<FormattedExecutionResult>) => Promise<FormattedExecutionResult>;
  onOverflow: () => void;
  metrics: GatewayMetrics;
  log: Logger;
}

/** The async iterator graphql-ws pulls results from: events are queued (bounded) and run one at a time. */
export function eventStream(o: StreamOptions): AsyncGenerator<FormattedExecutionResult> {
  const queue: LiveEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let stopListening: (() => Promise<void>) | undefined;
  const { field } = o.plan;
  const identity = { ...o.context.identity, service: "gateway" };
  // Subscribers with the same identity, document and variables get the same payload for an event.
  const sameAs = `${JSON.stringify(identity)}\n${o.plan.query}\n${JSON.stringify(o.variables)}\n`;
  o.metrics.subscriptions.inc({ field });

  const finish = async () => {
    if (done) return;
    done = true;
    o.metrics.subscriptions.dec({ field });
    wake?.();
    await stopListening?.();
  };
  const listening = o.hub
    .listen(field, (event) => {
      if (done) return;
      if (!eventMatches(event, o.plan.args, o.context.identity)) {
        o.metrics.subscriptionEvents.inc({ field, outcome: "filtered" });
        return;
      }
      if (queue.length >= o.bufferSize) {
        o.metrics.subscriptionEvents.inc({ field, outcome: "dropped" });
        o.log.warn({ field, identity: o.context.identity.id }, "subscriber too slow: disconnecting");
        void finish();
        o.onOverflow();
        return;
      }
      queue.push(event);
      wake?.();
    })
    .then((stop) => {
      stopListening = stop;
      if (done) void stop();
    });

  const gen: AsyncGenerator<FormattedExecutionResult> = {
    async next(): Promise<IteratorResult<FormattedExecutionResult>> {
      await listening;
      while (!done) {
        const event = queue.shift();
        if (!event) {
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        let result: FormattedExecutionResult;
        try {
          result = await o.schedule(sameAs + event.eventId, () =>
            o.execute(
              {
                query: o.plan.query,
                variables: { ...o.variables, [EVENT_ID_VARIABLE]: event.eventId },
                operationName: o.plan.operationName,
              },
              { ...o.context, identity, requestId: randomUUID() },
            ),
          );
        } catch (e) {
          o.log.error({ err: e, field }, "live event execution failed");
          o.metrics.subscriptionEvents.inc({ field, outcome: "failed" });
          continue;
        }
        const payload = (result.data as Record<string, unknown> | null | undefined)?.[o.plan.responseKey];
        if (payload === null || payload === undefined) {
          // Not for this subscriber (the subgraph's own check said no) or gone: nothing to push,
          // unless the failure is one the client should hear about.
          const codes = (result.errors ?? []).map((e) => e.extensions?.code);
          const quiet =
            codes.length === 0 ||
            codes.every((c) => c === ErrorCode.FORBIDDEN || c === ErrorCode.UNAUTHENTICATED || c === ErrorCode.NOT_FOUND);
          o.metrics.subscriptionEvents.inc({ field, outcome: quiet ? "filtered" : "failed" });
          if (quiet) continue;
        } else o.metrics.subscriptionEvents.inc({ field, outcome: "pushed" });
        return { value: result, done: false };
      }
      return { value: undefined, done: true };
    },
    async return(): Promise<IteratorResult<FormattedExecutionResult>> {
      await finish();
      return { value: undefined, done: true };
    },
    async throw(e: unknown): Promise<IteratorResult<FormattedExecutionResult>> {
      await finish();
      throw e;
    },
    [Symbol.asyncIterator]() {
      return gen;
    },
    async [Symbol.asyncDispose]() {
      await finish();
    },
  } as AsyncGenerator<FormattedExecutionResult>;
  return gen;
}
