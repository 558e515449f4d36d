/** useMetrics: request counts and durations per operation, errors by the code the client saw. */
import type { GatewayMetrics } from "../metrics.ts";
import type { GatewayPlugin } from "./types.ts";
import { publicCode } from "./useMaskedErrors.ts";

export function useMetrics(metrics: GatewayMetrics): GatewayPlugin {
  return {
    name: "metrics",
    onResponse({ state, operationName, durationSeconds, errors }) {
      const operation = metrics.operationLabel(operationName);
      metrics.requests.inc({ operation, transport: state.transport, outcome: errors.length ? "error" : "ok" });
      metrics.requestDuration.observe({ operation }, durationSeconds);
      for (const e of errors) metrics.errors.inc({ code: publicCode(e) });
    },
  };
}
