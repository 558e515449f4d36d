/**
 * Tracing on and off, per process. Off (no OTEL_EXPORTER_OTLP_ENDPOINT): not one OpenTelemetry module
 * is loaded (a resolve hook records every module the process imports). On: the default protocol
 * http/protobuf reaches a local OTLP receiver, with the caller's trace id (W3C traceparent) and
 * OTEL_SERVICE_NAME honoured.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../src/testing-otlp.ts";
import { createTestRedis, REPO_ROOT, waitFor, type TestRedis } from "../src/testing.ts";
import { serviceNameFor, tracingEnabled } from "../src/tracing/index.ts";

const FIXTURE = path.join(REPO_ROOT, "packages/platform/test/fixtures/traced-server.ts");
const PRELOAD = path.join(REPO_ROOT, "packages/platform/src/tracing/preload.ts");
let dir: string;
let tr: TestRedis;
let otlp: OtlpReceiver;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "mg-tracing-"));
  // Records every module URL the process resolves (ESM imports: the SDK and its packages are ESM here).
  writeFileSync(
    path.join(dir, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(process.env.MG_RESOLVED, r.url + "\\n"); return r; }\n`,
  );
  writeFileSync(path.join(dir, "register.mjs"), `import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n`);
  tr = createTestRedis();
  otlp = await startOtlpReceiver();
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await tr?.cleanup();
  await otlp?.close();
});

async function run(env: Record<string, string>, traceparent?: string): Promise<{ out: string; resolved: string[] }> {
  const resolvedLog = path.join(dir, `resolved-${randomBytes(4).toString("hex")}`);
  writeFileSync(resolvedLog, "");
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OTEL_")));
  const p = spawn(process.execPath, ["--import", path.join(dir, "register.mjs"), "--import", "tsx", "--import", PRELOAD, FIXTURE], {
    cwd: REPO_ROOT,
    env: { ...base, REDIS_PREFIX: tr.prefix, MG_RESOLVED: resolvedLog, ...env },
    stdio: "pipe",
  });
  let out = "";
  p.stdout.on("data", (b) => (out += b));
  p.stderr.on("data", (b) => (out += b));
  const { port } = await waitFor(
    () => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      return line ? (JSON.parse(line) as { port: number }) : undefined;
    },
    "the fixture's port",
    90_000,
  );
  await fetch(`http://127.0.0.1:${port}/`, { headers: traceparent ? { traceparent } : {} });
  await new Promise((r) => p.once("exit", r));
  return { out, resolved: readFileSync(resolvedLog, "utf8").split("\n").filter(Boolean) };
}

describe("tracing", () => {
  it("is on only with an OTLP endpoint, and names each process after its entry file", () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" })).toBe(false);
    expect(serviceNameFor("/app/subgraphs/order/src/index.js")).toBe("mallgraph-order");
    expect(serviceNameFor("/repo/gateway/src/index.ts")).toBe("mallgraph-gateway");
    expect(serviceNameFor("/app/scripts/workers.js")).toBe("mallgraph-workers");
  });

  it("off: loads no OpenTelemetry module at all and gives BullMQ no telemetry", { timeout: 120_000 }, async () => {
    const { out, resolved } = await run({});
    expect(resolved.some((u) => u.includes("/src/queue.ts"))).toBe(true); // the hook saw the process's modules
    expect(resolved.filter((u) => u.includes("@opentelemetry"))).toEqual([]);
    expect(out).toContain('"bullmqTelemetry":false');
  });

  it(
    "on: exports over OTLP http/protobuf by default, continuing the caller's trace, as OTEL_SERVICE_NAME",
    { timeout: 180_000 },
    async () => {
      const traceId = randomBytes(16).toString("hex");
      const { out } = await run(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_SERVICE_NAME: "mallgraph-fixture-42",
          OTEL_BSP_SCHEDULE_DELAY: "100",
          // the fixture exits right after its request: on a busy machine its first protobuf export
          // (the exporter's modules loaded then) can take longer than the default 2 s exit flush
          MG_TRACES_EXIT_FLUSH_MS: "60000",
        },
        `00-${traceId}-${randomBytes(8).toString("hex")}-01`,
      );
      expect(out).toContain('"bullmqTelemetry":true');
      const body = await waitFor(
        () => otlp.raw.find((r) => r.body.includes(Buffer.from(traceId, "hex"))),
        "a protobuf export with the caller's trace id",
        60_000,
      );
      expect(body.contentType).toBe("application/x-protobuf");
      expect(body.body.includes(Buffer.from("mallgraph-fixture-42"))).toBe(true);
      expect(body.body.includes(Buffer.from("get"))).toBe(true); // the Redis command, inside the request
    },
  );
});
