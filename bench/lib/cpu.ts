/**
 * CPU time of processes, from /proc (Linux): user + system time of a process and all its
 * descendants, so a gateway that forks workers is measured whole. The figure that does not depend
 * on how fast the shared machine is: CPU milliseconds spent per request served.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import os from "node:os";

let ticks: number | undefined;
/** Clock ticks per second (`getconf CLK_TCK`, 100 on Linux). */
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** [ppid, utime + stime in ticks] of one process, or undefined when it is gone. */
function stat(pid: number): [number, number] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may contain spaces: split after its closing parenthesis
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return [Number(f[1]), Number(f[11]) + Number(f[12])];
  } catch {
    return undefined;
  }
}

/** The process and its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (!s) continue;
    const list = children.get(s[0]) ?? [];
    list.push(pid);
    children.set(s[0], list);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** CPU milliseconds (user + system) used so far by the process and its descendants. */
export function cpuMs(root: number): number {
  let t = 0;
  for (const pid of processTree(root)) t += stat(pid)?.[1] ?? 0;
  return (t * 1000) / clockTicks();
}

/** Starts measuring several processes; `stop()` returns each one's CPU ms since `start`. */
export function cpuMeter(pids: Record<string, number>) {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const self = process.cpuUsage();
  return {
    stop(): Record<string, number> {
      const out: Record<string, number> = {};
      for (const [k, pid] of Object.entries(pids)) out[k] = cpuMs(pid) - start[k]!;
      const u = process.cpuUsage(self);
      out["load generator"] = (u.user + u.system) / 1000;
      return out;
    },
  };
}

/** "load 2.1 / 3.0 / 1.6" — the machine's 1/5/15-minute load averages, to note next to a run. */
export function loadAverage(): string {
  return `load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ")}`;
}

/** The machine a benchmark ran on, for bench/RESULTS.md. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** The machine's CPU ticks so far (/proc/stat); with `since`, the busy share of all cores since then. */
export function machineCpu(): { busy: number; all: number };
export function machineCpu(since: { busy: number; all: number }): { busyShare: number; cores: number };
export function machineCpu(since?: { busy: number; all: number }) {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy
  const all = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const busy = all - f[3]! - f[4]!;
  if (!since) return { busy, all };
  return { busyShare: Math.round((100 * (busy - since.busy)) / Math.max(1, all - since.all)), cores: os.cpus().length };
}
