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
  if (!url) return f.functionName.startsWith("(") ? f.functionName : "(native)";
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

export interface Summary {
  totalMs: number;
  /** Busy time: everything but (idle). */
  busyMs: number;
  areas: Array<{ area: string; ms: number }>;
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
    const file = f.url ? f.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(gateway|subgraphs|packages|scripts|bench)\//, "$1/") : "";
    const name = `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
    const e = fns.get(name) ?? { name, area, ms: 0 };
    e.ms += ms;
    fns.set(name, e);
  }
  return {
    totalMs: total,
    busyMs: total - idle,
    areas: [...areas].map(([area, ms]) => ({ area, ms })).sort((a, b) => b.ms - a.ms),
    functions: [...fns.values()].sort((a, b) => b.ms - a.ms),
  };
}

/** A markdown table of the areas taking ≥ `minShare` of the busy time (the rest summed up). */
export function areaTable(s: Summary, opts: { minShare?: number; requests?: number } = {}): string {
  const min = opts.minShare ?? 0.02;
  const rows = s.areas.filter((a) => a.area !== "(idle)");
  const shown = rows.filter((a) => a.ms / s.busyMs >= min);
  const rest = rows.filter((a) => a.ms / s.busyMs < min).reduce((t, a) => t + a.ms, 0);
  const perReq = (ms: number) => (opts.requests ? ` | ${((ms / opts.requests) * 1000).toFixed(0)}` : "");
  const lines = [`| area (self time) | share of busy CPU${opts.requests ? " | µs per request" : ""} |`, `|---|---|${opts.requests ? "---|" : ""}`];
  for (const a of shown) lines.push(`| ${a.area} | ${((a.ms / s.busyMs) * 100).toFixed(1)} %${perReq(a.ms)} |`);
  if (rest) lines.push(`| everything else | ${((rest / s.busyMs) * 100).toFixed(1)} %${perReq(rest)} |`);
  return lines.join("\n");
}

export function functionTable(s: Summary, top = 20): string {
  const lines = ["| function (self time) | area | share of busy CPU |", "|---|---|---|"];
  for (const f of s.functions.filter((x) => x.area !== "(idle)").slice(0, top)) lines.push(`| ${f.name.replace(/\|/g, "\\|")} | ${f.area} | ${((f.ms / s.busyMs) * 100).toFixed(1)} % |`);
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
  console.log(areaTable(s));
  console.log();
  console.log(functionTable(s, top));
}
