/**
 * Starts the whole platform as processes: one per subgraph, one for the workers, and the gateway,
 * each waited for on its /ready endpoint. Used by `npm start` and by the end-to-end tests (with a
 * throwaway database, a random Redis prefix and free ports).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { DOMAINS, type Domain } from "../packages/platform/src/config.ts";

const root = path.resolve(import.meta.dirname, "..");
/** Starts OpenTelemetry before a process's modules when OTEL_EXPORTER_OTLP_ENDPOINT is set (a no-op otherwise). */
const TRACING_PRELOAD = "./packages/platform/src/tracing/preload.ts";

/** Domains that have a subgraph server (subgraphs/<d>/src/index.ts). */
export function runnableDomains(): string[] {
  return DOMAINS.filter((d) => existsSync(path.join(root, "subgraphs", d, "src", "index.ts")));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** One process's end: its exit code, or the signal that ended it. */
export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface Stack {
  gatewayUrl: string;
  env: NodeJS.ProcessEnv;
  processes: Map<string, ChildProcess>;
  /** The last lines each process printed (when started with stdio "pipe"), for a failing test to show. */
  logs: () => string;
  /** Everything one process printed since it was (re)started (stdio "pipe"; the last 2,000 chunks). */
  output: (name: string) => string;
  /** Sends a signal to one process ("gateway", "workers" or a domain) and waits for it to exit. */
  kill: (name: string, signal?: NodeJS.Signals) => Promise<Exit>;
  /** Starts one process again (after `kill`) with the settings it was started with, and waits until it is ready. */
  restart: (name: string) => Promise<void>;
  stop: () => Promise<void>;
}

/** A port that another process answers on: ours could not listen (EADDRINUSE), and its requests would reach a stranger. */
class PortTaken extends Error {}

async function waitReady(url: string, proc: ChildProcess, name: string, timeoutMs: number, instance: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with code ${proc.exitCode} before it was ready`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) {
        // ready — but whose? Every process's /health names its instance (INSTANCE_ID, or host-pid)
        const health = (await (await fetch(new URL("/health", url), { signal: AbortSignal.timeout(1000) })).json()) as {
          instance?: string;
        };
        // (a process of an older release whose /health names no instance is taken at its word)
        if (health.instance === undefined || health.instance === instance) return;
        throw new PortTaken(`${name}: ${url} is answered by another process (${health.instance}, not ${instance})`);
      }
    } catch (e) {
      if (e instanceof PortTaken) throw e;
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${name} was not ready at ${url} within ${timeoutMs} ms`);
}

export interface StackOptions {
  env?: NodeJS.ProcessEnv;
  /** Settings of one process only, by name ("gateway", "workers" or a domain): e.g. a gateway reaching a subgraph through a proxy. */
  processEnv?: Record<string, NodeJS.ProcessEnv>;
  /** Pick free ports instead of the configured ones (tests); a `<NAME>_PORT` given in `env` is kept. */
  randomPorts?: boolean;
  /** Where child output goes: "inherit" (npm start) or "pipe" (kept quiet, shown on failure). */
  stdio?: "inherit" | "pipe";
  readyTimeoutMs?: number;
  /**
   * Where a process's code comes from, by name: the root of another copy of the repository (e.g. the
   * previous release's, test/scale/previous-release.ts) instead of this one. Its entry file and the
   * tracing preload are taken from there; settings and ports stay the shared ones.
   */
  codeRoots?: Record<string, string>;
}

/** One process to start: its entry file, its own settings over the shared ones, and where it answers /ready. */
export interface ProcessSpec {
  name: string;
  file: string;
  env?: NodeJS.ProcessEnv;
  readyUrl: string;
  /** The root of the copy of the repository whose code it runs (default: this one). */
  cwd?: string;
}

/** Running processes: started together, stopped together (SIGTERM, SIGKILL after 5 s). */
export interface Processes {
  processes: Map<string, ChildProcess>;
  /** The last lines each process printed (when started with stdio "pipe"), for a failing test to show. */
  logs: () => string;
  /** Starts more processes (in parallel) and waits for each to be ready. */
  start: (specs: ProcessSpec[]) => Promise<void>;
  /** Everything one process printed since it was (re)started (stdio "pipe"; the last 2,000 chunks). */
  output: (name: string) => string;
  /** Sends a signal to one process and waits for it to exit. */
  kill: (name: string, signal?: NodeJS.Signals) => Promise<Exit>;
  /** Starts a process that was killed again, from its spec, and waits until it is ready. */
  restart: (name: string) => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * A group of processes sharing `env` (each spec adds its own, e.g. a port and an INSTANCE_ID):
 * several instances of one entry file run side by side this way (test/scale/, bench/scale.ts).
 */
export function processGroup(env: NodeJS.ProcessEnv, opts: Pick<StackOptions, "stdio" | "readyTimeoutMs"> = {}): Processes {
  const processes = new Map<string, ChildProcess>();
  const logs = new Map<string, string[]>();
  const specs = new Map<string, ProcessSpec>();
  const launch = (spec: ProcessSpec) => {
    specs.set(spec.name, spec);
    const p = spawn(process.execPath, ["--import", "tsx", "--import", TRACING_PRELOAD, spec.file], {
      cwd: spec.cwd ?? root,
      env: { ...env, ...spec.env },
      stdio: opts.stdio === "inherit" ? "inherit" : "pipe",
    });
    const lines: string[] = [];
    logs.set(spec.name, lines);
    const keep = (b: Buffer) => {
      lines.push(b.toString());
      if (lines.length > 2000) lines.shift();
    };
    p.stdout?.on("data", keep);
    p.stderr?.on("data", keep);
    processes.set(spec.name, p);
    return p;
  };
  const stop = async () => {
    await Promise.all(
      [...processes.values()].map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode) return resolve();
            const t = setTimeout(() => p.kill("SIGKILL"), 5000);
            p.once("exit", () => {
              clearTimeout(t);
              resolve();
            });
            p.kill("SIGTERM");
          }),
      ),
    );
  };
  const dump = () => [...logs.entries()].map(([n, l]) => `--- ${n}\n${l.join("").slice(-4000)}`).join("\n");
  const timeout = opts.readyTimeoutMs ?? 60_000;
  const start = async (list: ProcessSpec[]) => {
    await Promise.all(
      list.map((spec) => {
        const p = launch(spec);
        const instance = spec.env?.INSTANCE_ID || env.INSTANCE_ID || `${os.hostname()}-${p.pid}`;
        return waitReady(spec.readyUrl, p, spec.name, timeout, instance);
      }),
    );
  };
  const kill = (name: string, signal: NodeJS.Signals = "SIGTERM") =>
    new Promise<Exit>((resolve, reject) => {
      const p = processes.get(name);
      if (!p) return reject(new Error(`no process ${name}`));
      if (p.exitCode !== null || p.signalCode) return resolve({ code: p.exitCode, signal: p.signalCode });
      p.once("exit", (code, sig) => resolve({ code, signal: sig }));
      p.kill(signal);
    });
  const restart = async (name: string) => {
    const spec = specs.get(name);
    const p = processes.get(name);
    if (!spec) throw new Error(`no process ${name}`);
    if (p && p.exitCode === null && !p.signalCode) throw new Error(`${name} is still running`);
    await start([spec]);
  };
  const output = (name: string) => (logs.get(name) ?? []).join("");
  return { processes, logs: dump, start, output, kill, restart, stop };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  // A port freePort found free can be taken before the process listens on it: by another stack's
  // process, or as the local port of an outgoing connection (both come from the ephemeral range). The
  // whole stack then starts again on new ports (every process's URLs name them); twice at the most.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOnce(opts);
    } catch (e) {
      const taken = (e as Error).cause instanceof PortTaken || /EADDRINUSE/.test((e as Error).message);
      if (!opts.randomPorts || attempt >= 3 || !taken) throw e;
    }
  }
}

async function startStackOnce(opts: StackOptions): Promise<Stack> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  const domains = runnableDomains();
  if (opts.randomPorts) {
    for (const d of [...domains, "gateway", "workers"])
      env[`${d.toUpperCase()}_PORT`] = opts.env?.[`${d.toUpperCase()}_PORT`] ?? String(await freePort());
  }
  const group = processGroup(env, opts);
  const own = (name: string) => opts.processEnv?.[name];
  const port = (d: string) => env[`${d.toUpperCase()}_PORT`] ?? String(4000 + 1 + DOMAINS.indexOf(d as Domain));
  const gatewayPort = env.GATEWAY_PORT ?? "4000";
  try {
    await group.start(
      domains.map((d) => ({
        name: d,
        file: `subgraphs/${d}/src/index.ts`,
        env: own(d),
        readyUrl: `http://127.0.0.1:${port(d)}/ready`,
        cwd: opts.codeRoots?.[d],
      })),
    );
    await group.start([
      {
        name: "workers",
        file: "scripts/workers.ts",
        env: own("workers"),
        readyUrl: `http://127.0.0.1:${env.WORKERS_PORT ?? "4008"}/ready`,
        cwd: opts.codeRoots?.workers,
      },
      { name: "gateway", file: "gateway/src/index.ts", env: own("gateway"), readyUrl: `http://127.0.0.1:${gatewayPort}/ready` },
    ]);
    const { processes, logs, output, kill, restart, stop } = group;
    return { gatewayUrl: `http://127.0.0.1:${gatewayPort}/graphql`, env, processes, logs, output, kill, restart, stop };
  } catch (e) {
    await group.stop();
    throw new Error(`${(e as Error).message}\n${group.logs()}`, { cause: e });
  }
}
