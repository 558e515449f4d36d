/**
 * One measured load: autocannon at a fixed concurrency for a fixed time against one URL, with the
 * CPU time of the named processes over the same window (bench/lib/cpu.ts) and the machine's load
 * average noted next to it.
 */
import autocannon from "autocannon";
import { cpuMeter, loadAverage } from "./cpu.ts";

/** The run lengths of the gateway benchmarks, from the environment (BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_WARMUP_SECONDS). */
export const RUN = {
  seconds: Number(process.env.BENCH_SECONDS ?? 15),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 50),
  /** Unmeasured load before each measured run (JIT, connection pools, caches warm). */
  warmup: Number(process.env.BENCH_WARMUP_SECONDS ?? 3),
};

export interface RequestSpec {
  body: unknown;
  headers?: Record<string, string>;
}

export interface LoadOptions {
  url: string;
  next: () => RequestSpec;
  /** Called with every response (count GraphQL errors, answer codes…). */
  check?: (status: number, body: string) => void;
  connections: number;
  seconds: number;
  /** Processes whose CPU time is measured (name → pid). */
  pids?: Record<string, number>;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU ms per request, per measured process (and "load generator"). */
  cpuPerRequest: Record<string, number>;
  /** Load averages before and after. */
  load: string;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const before = loadAverage();
  const meter = cpuMeter(o.pids ?? {});
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    requests: [
      {
        method: "POST",
        setupRequest: (req: any) => {
          const { body, headers } = o.next();
          return { ...req, body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } };
        },
        onResponse: (status: number, body: string) => o.check?.(status, body),
      },
    ],
  } as any);
  const cpu = meter.stop();
  const requests = r.requests.total;
  return {
    requests,
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
    cpuPerRequest: Object.fromEntries(Object.entries(cpu).map(([k, ms]) => [k, requests ? ms / requests : 0])),
    load: `${before} → ${loadAverage().replace(/^load /, "")}`,
  };
}

/** Counts GraphQL-level errors in answers (autocannon only sees HTTP status). */
export function errorCounter(isFailure: (body: string) => boolean = (b) => b.includes('"errors"')) {
  let failures = 0;
  let first = "";
  return {
    check: (_status: number, body: string) => {
      if (isFailure(body)) {
        failures++;
        if (!first) first = body.slice(0, 300);
      }
    },
    failures: () => failures,
    firstFailure: () => first,
  };
}
