/** useMetrics: request counts and durations per operation, errors by the code the client saw. */
import type { GatewayMetrics } from "../metrics.ts";
import type { GatewayPlugin } from "./types.ts";
import { publicCode } from "./useMaskedErrors.ts";

export function useMetrics(metrics: GatewayMetrics): GatewayPlugin {
  return {
    name: "metrics",
    onResponse({ state, operationName, durationSeconds, errors }) {
      const operation = metrics.operationLabel(operationName);
      metrics.requestDone(operation, state.transport, errors.length ? "error" : "ok", durationSeconds);
      for (const e of errors) metrics.errors.inc({ code: publicCode(e) });
    },
  };
}
