/**
 * Traces across the stack: with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP receiver
 * (http/json), one placeOrder through the gateway yields ONE trace holding spans of the gateway,
 * the order subgraph, the catalog subgraph (stock reservation) and the workers (the order's payment
 * time-out job, made due in 2 s, continues the request's trace through the job).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@mallgraph/platform/testing";
import { startOtlpReceiver, type OtlpReceiver } from "@mallgraph/platform/testing-otlp";
import { startE2E, adminToken, registerMember, type E2E } from "./harness.ts";

describe("OpenTelemetry traces", () => {
  let e: E2E;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    e = await startE2E({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_BSP_SCHEDULE_DELAY: "200",
        ORDER_PAYMENT_TIMEOUT_SECONDS: "2",
      },
    });
  }, 300000);
  afterAll(async () => {
    await e?.stop();
    await otlp?.close();
  });

  it("one placeOrder: gateway, order, catalog and worker spans under one trace id, each process its own service.name", async () => {
    const api = e.api;
    const admin = await adminToken(e);
    const { phone, token } = await registerMember(e, admin);
    const addr = (
      await api.ok("AddAddress", { input: { receiver: "Li", phone, region: "Shanghai", detail: "1 Road", isDefault: true } }, token)
    ).addAddress;
    const spuId = (await api.ok("SearchProducts", { query: { keyword: "", first: 5 } })).searchProducts.items[0].spuId;
    const sku = (await api.ok("Product", { id: spuId }, token)).product.skus.find((s: any) => s.stock.available > 3);
    expect((await api.ok("AddToCart", { skuId: sku.id, quantity: 1 }, token)).addToCart.code).toBe("OK");
    const placed = (await api.ok("PlaceOrder", { input: { fromCart: true, addressId: addr.id, idempotencyKey: "trace-1" } }, token))
      .placeOrder;
    expect(placed.code).toBe("OK");

    const summary = () => {
      const byTrace = new Map<string, string[]>();
      for (const s of otlp.spans)
        byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), `${s.service}:${s.name}${s.parentSpanId ? "" : " (root)"}`]);
      return [...byTrace.values()]
        .map((v) => v.join(", "))
        .join("\n")
        .slice(-6000);
    };
    // The gateway's server span of the PlaceOrder request is the root of its trace.
    const root = await waitFor(
      () =>
        otlp.spans.find(
          (s) =>
            s.service === "mallgraph-gateway" &&
            !s.parentSpanId &&
            otlp.spans.some((c) => c.traceId === s.traceId && c.service === "mallgraph-order"),
        ),
      "the gateway's root span of placeOrder",
      30_000,
    ).catch((err) => {
      throw new Error(`${err.message}; received ${otlp.spans.length} spans in ${otlp.raw.length} exports:\n${summary()}`);
    });
    const services = await waitFor(
      () => {
        const inTrace = new Set(otlp.spans.filter((s) => s.traceId === root.traceId).map((s) => s.service));
        return ["mallgraph-gateway", "mallgraph-order", "mallgraph-catalog", "mallgraph-workers"].every((n) => inTrace.has(n))
          ? inTrace
          : undefined;
      },
      "gateway, order, catalog and worker spans in the placeOrder trace",
      30_000,
    );
    expect([...services]).toEqual(
      expect.arrayContaining(["mallgraph-gateway", "mallgraph-order", "mallgraph-catalog", "mallgraph-workers"]),
    );

    // Every span but the root hangs under another span of the same trace (nothing orphaned). A parent
    // is exported when it ends, after its children: wait until the last ones arrived.
    const orphans = () => {
      const t = otlp.spans.filter((s) => s.traceId === root.traceId);
      const ids = new Set(t.map((s) => s.spanId));
      return t.filter((s) => s !== root && !ids.has(s.parentSpanId!));
    };
    await waitFor(() => orphans().length === 0, "every span's parent in the trace", 30_000).catch(() => undefined);
    expect(orphans()).toEqual([]);
    const trace = otlp.spans.filter((s) => s.traceId === root.traceId);
    // The jobs: the order's events leave through the job outbox (added by the relay in the order
    // subgraph) and are processed by the workers as the child of that add. (Its payment time-out is
    // the workers' sweep, no job of the request: decision 0051.)
    const added = trace.find((s) => s.service === "mallgraph-order" && /^(add|addBulk) order-events/.test(s.name));
    expect(added).toBeDefined();
    const processed = await waitFor(
      () => otlp.spans.find((s) => s.traceId === root.traceId && s.service === "mallgraph-workers" && s.name === "process order-events"),
      "the workers' span of the order's events",
      30_000,
    );
    expect(processed.parentSpanId).toBe(added?.spanId);
    // SQL and Redis inside the request are traced too.
    expect(trace.some((s) => s.service === "mallgraph-order" && /^pg\./.test(s.name))).toBe(true);
    expect(trace.some((s) => s.service === "mallgraph-catalog" && s.kind === 2 /* SERVER */)).toBe(true);
    // Health checks and BullMQ's polling make no traces.
    expect(otlp.spans.some((s) => /\/(ready|health)\b/.test(s.name))).toBe(false);
    expect(otlp.spans.some((s) => s.name.startsWith("getNextJob"))).toBe(false);
  });
});
