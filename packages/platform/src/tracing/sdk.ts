/**
 * The OpenTelemetry SDK of one process, loaded only when tracing is on (./preload.ts).
 *
 * - Export: OTLP, configured by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT,
 *   OTEL_EXPORTER_OTLP_PROTOCOL `http/protobuf` (default) or `http/json`, headers, time-outs);
 *   sampling by OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG; batching by OTEL_BSP_*.
 *   Metrics and logs stay on Prometheus and stdout (OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER
 *   default to none here).
 * - service.name: OTEL_SERVICE_NAME, else `mallgraph-<process>` from the entry file.
 * - Instrumented: http (server and client: gateway ↔ subgraphs, W3C traceparent), fetch/undici
 *   (service calls between subgraphs), graphql (parse/validate/execute), ioredis, pg (every Prisma
 *   query goes through the pg driver adapter), BullMQ (./bullmq.ts: job context carried in the job).
 *   Redis and SQL spans are only made inside a traced request or job (requireParentSpan), so
 *   background polling makes no traces.
 */
import { createRequire } from "node:module";
import { GraphQLInstrumentation } from "@opentelemetry/instrumentation-graphql";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { bullmqTracing } from "./bullmq.ts";
import { serviceNameFor, setTracingHandles } from "./index.ts";

const OPS_PATHS = new Set(["/health", "/ready", "/metrics"]);
const pathOf = (url: string) => url.split("?", 1)[0] ?? url;

export async function startTracing(): Promise<NodeSDK> {
  process.env.OTEL_METRICS_EXPORTER ??= "none";
  process.env.OTEL_LOGS_EXPORTER ??= "none";
  const serviceName = process.env.OTEL_SERVICE_NAME || serviceNameFor(process.argv[1]);
  const sdk = new NodeSDK({
    serviceName,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => OPS_PATHS.has(pathOf(req.url ?? "")) || req.method === "OPTIONS",
        ignoreOutgoingRequestHook: (req) => OPS_PATHS.has(pathOf(String(req.path ?? ""))),
      }),
      new UndiciInstrumentation({ ignoreRequestHook: (req) => OPS_PATHS.has(pathOf(req.path)) }),
      new GraphQLInstrumentation({ mergeItems: true, ignoreTrivialResolveSpans: true, ignoreResolveSpans: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  // The hooks patch a module when it is require()d; ESM `import` of node:http or of a CommonJS
  // package reuses the same module object without calling require. Requiring them here, once the
  // hooks are in place, patches the objects every later import gets.
  const require = createRequire(import.meta.url);
  for (const m of ["http", "https", "graphql", "ioredis", "pg"]) require(m);
  setTracingHandles({ bullmq: bullmqTracing(serviceName) });

  // Flush on exit: every process ends with process.exit() after its graceful stop. The wait is
  // bounded (a collector that is down must not hold the exit): MG_TRACES_EXIT_FLUSH_MS, 2 s by default.
  const asked = Number(process.env.MG_TRACES_EXIT_FLUSH_MS);
  const flushMs = asked > 0 ? asked : 2000;
  const exit = process.exit.bind(process);
  let exiting = false;
  process.exit = ((code?: number) => {
    if (exiting) return exit(code);
    exiting = true;
    const done = () => exit(code);
    Promise.race([sdk.shutdown(), new Promise((r) => setTimeout(r, flushMs))]).then(done, done);
  }) as typeof process.exit;
  return sdk;
}
