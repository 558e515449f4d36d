/**
 * Tracing switch and hand-offs, cheap to import: nothing here loads the OpenTelemetry SDK.
 *
 * Tracing is ON when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and
 * OTEL_SDK_DISABLED is not "true"; then the preload (./preload.ts, given to node with --import)
 * starts the SDK (./sdk.ts) before the process's own modules load. OFF, the preload returns at once
 * and no OpenTelemetry module is ever imported.
 */
import path from "node:path";

const SLOT = Symbol.for("mallgraph.tracing");

export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) && env.OTEL_SDK_DISABLED !== "true";
}

/** `mallgraph-<process>` from the entry file: gateway, the subgraph's domain, workers. */
export function serviceNameFor(entry: string | undefined): string {
  const parts = (entry ?? "").split(path.sep);
  const i = parts.lastIndexOf("subgraphs");
  if (i >= 0 && parts[i + 1]) return `mallgraph-${parts[i + 1]}`;
  if (parts.includes("gateway")) return "mallgraph-gateway";
  const base = path.basename(entry ?? "node").replace(/\.[cm]?[jt]s$/, "");
  return `mallgraph-${base}`;
}

/** What the SDK hands to the platform when tracing is on. */
export interface TracingHandles {
  /** BullMQ's `telemetry` option: job context travels from producer to worker. */
  bullmq: unknown;
}

/** The handles live on globalThis: the SDK and the platform may be loaded as two module instances. */
const slot = globalThis as unknown as Record<symbol, TracingHandles | undefined>;

export function setTracingHandles(h: TracingHandles): void {
  slot[SLOT] = h;
}

/** BullMQ `telemetry` option, or undefined when tracing is off. */
export function bullmqTelemetry<T>(): T | undefined {
  return slot[SLOT]?.bullmq as T | undefined;
}
