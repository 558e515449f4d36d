/**
 * BullMQ's `telemetry` option on OpenTelemetry: the producer's context is written into the job (its
 * stored options, `opts.telemetry.metadata`, as W3C traceparent) when it is added, and the worker's
 * `process` span continues that trace — so a request, the jobs it enqueued and what they did are one
 * trace. Only `add`/`addBulk` inside a traced request or job (producer) and `process` (consumer)
 * become spans; BullMQ's internal operations (polling for jobs, stalled checks, rate limits, the
 * schedulers adding the next repeat) would make a trace every few milliseconds and stay silent.
 */
import { context, propagation, trace, type Span as OtelSpan, type Context } from "@opentelemetry/api";
import type { Attributes, AttributeValue, Exception, Span, Telemetry, Time } from "bullmq";

const TRACED = new Set(["add", "addBulk", "process"]);

class JobSpan implements Span<Context> {
  constructor(private readonly span: OtelSpan) {}
  setSpanOnContext(ctx: Context): Context {
    return trace.setSpan(ctx, this.span);
  }
  setAttribute(key: string, value: AttributeValue): void {
    this.span.setAttribute(key, value);
  }
  setAttributes(attributes: Attributes): void {
    this.span.setAttributes(attributes);
  }
  addEvent(name: string, attributes?: Attributes): void {
    this.span.addEvent(name, attributes);
  }
  recordException(exception: Exception, time?: Time): void {
    this.span.recordException(exception, time);
  }
  end(): void {
    this.span.end();
  }
}

/** A span that records nothing and leaves the context as it was. */
const SILENT: Span<Context> = {
  setSpanOnContext: (ctx) => ctx,
  setAttribute: () => undefined,
  setAttributes: () => undefined,
  addEvent: () => undefined,
  recordException: () => undefined,
  end: () => undefined,
};

export function bullmqTracing(name: string): Telemetry<Context> {
  const tracer = trace.getTracer(`${name}/bullmq`);
  return {
    tracer: {
      startSpan(spanName, options, ctx) {
        const [operation = ""] = spanName.split(" ");
        if (!TRACED.has(operation)) return SILENT;
        if (operation !== "process" && !trace.getSpan(ctx ?? context.active())) return SILENT;
        return new JobSpan(tracer.startSpan(spanName, { kind: options?.kind as number | undefined }, ctx));
      },
    },
    contextManager: {
      with: (ctx, fn) => context.with(ctx, fn),
      active: () => context.active(),
      getMetadata(ctx) {
        const carrier: Record<string, string> = {};
        propagation.inject(ctx, carrier);
        return JSON.stringify(carrier);
      },
      fromMetadata(active, metadata) {
        return propagation.extract(active, JSON.parse(metadata) as Record<string, string>);
      },
    },
  };
}
