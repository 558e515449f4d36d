/**
 * Summarises a V8 CPU profile (.cpuprofile from `node --cpu-prof` or bench/lib/profiler.ts) into
 * where the time goes: self time per package / area and the top functions by self time.
 *
 *   npx tsx bench/profile-summary.ts path/to/file.cpuprofile [--top 25]
 *
 * Areas: a package under node_modules (`@apollo/gateway`, `graphql`, `ioredis`, …), Node's own code
 * (`node:http`, `node:net`, …), this repository's files by folder (`gateway/src`, `subgraphs/catalog/src`),
 * and V8's pseudo-frames: (garbage collector), (program) = native work outside JS, (idle).
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The area a frame belongs to. */
export function areaOf(f: CallFrame): string {
  const url = f.url;
  if (!url) {
    if (f.functionName === "init" || f.functionName === "emitInitNative") return "node:async_hooks"; // async hook of every promise (AsyncLocalStorage)
    if (/(Handler|Resolver|Serializer|Query)$/.test(f.functionName) && !f.functionName.startsWith("(")) return "graphql-jit"; // its generated code has no URL
    return f.functionName.startsWith("(") ? f.functionName : "(native)";
  }
  if (url.startsWith("node:")) {
    const m = url.match(/^node:(?:internal\/)?([^/]+)/);
    return `node:${m?.[1] ?? url.slice(5)}`;
  }
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const repo = url.match(/\/(gateway\/src|subgraphs\/[^/]+\/src|packages\/[^/]+\/src|scripts|bench)\//);
  if (repo) return repo[1]!;
  return url.replace(/^file:\/\//, "");
}

/** A coarser grouping of areas, for the "where the time goes" tables. */
export function groupOf(area: string): string {
  if (area === "graphql") return "graphql-js (parse, validate, execute)";
  if (area === "graphql-jit") return "graphql-jit (compiled execution)";
  if (area.startsWith("@apollo/server")) return "Apollo Server (request pipeline, plugins)";
  if (/^@apollo\/(gateway|federation-internals|query-planner|query-graphs)$/.test(area))
    return "@apollo/gateway (planning, fetching, result shaping)";
  if (area === "@apollo/subgraph") return "@apollo/subgraph";
  if (area.startsWith("@prisma/") || area.startsWith("wasm://") || area === "prisma") return "Prisma (client + WASM query engine)";
  if (area === "pg" || area.startsWith("pg-") || area === "postgres-array") return "pg driver";
  if (["ioredis", "redis-parser", "denque", "cluster-key-slot", "standard-as-callback", "redis-errors"].includes(area)) return "ioredis";
  if (["bullmq", "msgpackr", "cron-parser", "luxon"].includes(area)) return "BullMQ";
  if (area === "jose") return "jose (JWT)";
  if (area === "dataloader") return "DataLoader";
  if (["lru-cache", "@apollo/utils.keyvaluecache"].includes(area)) return "lru-cache";
  if (area === "pino" || area.startsWith("pino-") || area === "sonic-boom" || area === "thread-stream") return "pino (logging)";
  if (area === "node:async_hooks") return "AsyncLocalStorage / async hooks";
  if (/^node:(_http|http|net|stream|streams|stream_base_commons|internal|buffer|events|url|timers|string_decoder|dns|tcp)/.test(area))
    return "Node core: HTTP, sockets, streams, buffers, events";
  if (area === "node:deps") return "Node core: undici (fetch)";
  if (area.startsWith("node:")) return `Node core: other (${area.slice(5)})`;
  if (area === "(garbage collector)") return "garbage collection";
  if (area === "(program)" || area === "(native)") return "native: socket writes, microtask queue, crypto, JSON";
  if (/^(gateway\/src|subgraphs\/|packages\/|scripts|bench)/.test(area)) return `our code: ${area}`;
  if (area === "tsx" || area === "esbuild" || area === "get-tsconfig") return "tsx (TypeScript loader)";
  return area;
}

export interface Summary {
  totalMs: number;
  /** Busy time: everything but (idle). */
  busyMs: number;
  areas: Array<{ area: string; ms: number }>;
  groups: Array<{ area: string; ms: number }>;
  functions: Array<{ name: string; area: string; ms: number }>;
}

export function summarise(profile: CpuProfile): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000; // µs → ms: a sample stands for the time until the next
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + Math.max(dt, 0));
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, { name: string; area: string; ms: number }>();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    const area = areaOf(f);
    total += ms;
    if (area === "(idle)") idle += ms;
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const file = f.url
      ? f.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(gateway|subgraphs|packages|scripts|bench)\//, "$1/")
      : "";
    const name = `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
    const e = fns.get(name) ?? { name, area, ms: 0 };
    e.ms += ms;
    fns.set(name, e);
  }
  const groups = new Map<string, number>();
  for (const [area, ms] of areas) groups.set(groupOf(area), (groups.get(groupOf(area)) ?? 0) + ms);
  return {
    totalMs: total,
    busyMs: total - idle,
    areas: [...areas].map(([area, ms]) => ({ area, ms })).sort((a, b) => b.ms - a.ms),
    groups: [...groups].map(([area, ms]) => ({ area, ms })).sort((a, b) => b.ms - a.ms),
    functions: [...fns.values()].sort((a, b) => b.ms - a.ms),
  };
}

/** A markdown table of the areas taking ≥ `minShare` of the busy time (the rest summed up). */
export function areaTable(s: Summary, opts: { minShare?: number; requests?: number; grouped?: boolean } = {}): string {
  const min = opts.minShare ?? 0.02;
  const rows = (opts.grouped ? s.groups : s.areas).filter((a) => a.area !== "(idle)");
  const shown = rows.filter((a) => a.ms / s.busyMs >= min);
  const rest = rows.filter((a) => a.ms / s.busyMs < min).reduce((t, a) => t + a.ms, 0);
  const perReq = (ms: number) => (opts.requests ? ` | ${((ms / opts.requests) * 1000).toFixed(0)}` : "");
  const lines = [
    `| ${opts.grouped ? "where" : "area"} (self time) | share of busy CPU${opts.requests ? " | µs per request" : ""} |`,
    `|---|---|${opts.requests ? "---|" : ""}`,
  ];
  for (const a of shown) lines.push(`| ${a.area} | ${((a.ms / s.busyMs) * 100).toFixed(1)} %${perReq(a.ms)} |`);
  if (rest) lines.push(`| everything else | ${((rest / s.busyMs) * 100).toFixed(1)} %${perReq(rest)} |`);
  return lines.join("\n");
}

export function functionTable(s: Summary, top = 20): string {
  const lines = ["| function (self time) | area | share of busy CPU |", "|---|---|---|"];
  for (const f of s.functions.filter((x) => x.area !== "(idle)").slice(0, top))
    lines.push(`| ${f.name.replace(/\|/g, "\\|")} | ${f.area} | ${((f.ms / s.busyMs) * 100).toFixed(1)} % |`);
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: npx tsx bench/profile-summary.ts file.cpuprofile [--top N]");
    process.exit(2);
  }
  const topIdx = process.argv.indexOf("--top");
  const top = topIdx > 0 ? Number(process.argv[topIdx + 1]) : 25;
  const s = summarise(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
  console.log(`${file}: ${(s.totalMs / 1000).toFixed(1)} s sampled, busy ${((s.busyMs / s.totalMs) * 100).toFixed(0)} %\n`);
  console.log(areaTable(s, { grouped: true, minShare: 0.01 }));
  console.log();
  console.log(areaTable(s));
  console.log();
  console.log(functionTable(s, top));
}
