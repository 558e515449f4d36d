/**
 * A local OTLP/HTTP trace receiver for tests: collects the spans processes export to
 * `<url>/v1/traces`, decoding `http/json` bodies (`http/protobuf` bodies are kept raw).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Raw bodies with their content type (protobuf exports). */
  raw: Array<{ contentType: string; body: Buffer }>;
  close: () => Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const raw: OtlpReceiver["raw"] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const contentType = String(req.headers["content-type"] ?? "");
      if (req.url === "/v1/traces") {
        raw.push({ contentType, body });
        if (contentType.includes("json")) {
          const doc = JSON.parse(body.toString("utf8"));
          for (const rs of doc.resourceSpans ?? []) {
            const service =
              rs.resource?.attributes?.find((a: { key: string; value?: { stringValue?: string } }) => a.key === "service.name")?.value
                ?.stringValue ?? "?";
            for (const ss of rs.scopeSpans ?? []) {
              for (const s of ss.spans ?? [])
                spans.push({
                  service,
                  traceId: s.traceId,
                  spanId: s.spanId,
                  parentSpanId: s.parentSpanId || undefined,
                  name: s.name,
                  kind: s.kind,
                });
            }
          }
        }
      }
      res
        .writeHead(200, { "content-type": contentType.includes("json") ? "application/json" : "application/x-protobuf" })
        .end(contentType.includes("json") ? "{}" : undefined);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    raw,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
