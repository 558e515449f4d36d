/**
 * CPU profiles of running processes, taken only while a load runs: SIGUSR1 opens the process's
 * inspector (127.0.0.1:9229), the DevTools protocol starts and stops the sampling profiler, and the
 * inspector is closed again (port 9229, or BENCH_INSPECT_PORT when another bench holds it). The result is a `.cpuprofile` (Chrome DevTools, speedscope, or
 * bench/profile-summary.ts). Profiles one process at a time (one inspector port).
 */
import { WebSocket } from "ws";

/** 9229, or BENCH_INSPECT_PORT (bench/lib/stack.ts passes it to the processes it starts). */
const PORT = Number(process.env.BENCH_INSPECT_PORT ?? 9229);

interface Target {
  webSocketDebuggerUrl: string;
}

async function target(): Promise<Target> {
  for (let i = 0; i < 100; i++) {
    try {
      const list = (await (await fetch(`http://127.0.0.1:${PORT}/json/list`)).json()) as Target[];
      if (list[0]) return list[0];
    } catch {
      /* not open yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no inspector on port ${PORT}`);
}

function session(ws: WebSocket) {
  let id = 0;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  });
  return (method: string, params: object = {}) =>
    new Promise<any>((resolve, reject) => {
      const n = ++id;
      pending.set(n, { resolve, reject });
      ws.send(JSON.stringify({ id: n, method, params }));
    });
}

/** Profiles process `pid` while `during` runs; returns the profile and what `during` returned. */
export async function profileWhile<T>(
  pid: number,
  during: () => Promise<T>,
  samplingIntervalUs = 250,
): Promise<{ profile: unknown; result: T }> {
  process.kill(pid, "SIGUSR1");
  const t = await target();
  const ws = new WebSocket(t.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  const send = session(ws);
  try {
    // make sure the inspector on the port is the one we opened (the machine is shared)
    const who = await send("Runtime.evaluate", { expression: "process.pid", returnByValue: true });
    if (who.result?.value !== pid) throw new Error(`the inspector on ${PORT} belongs to process ${who.result?.value}, not ${pid}`);
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: samplingIntervalUs });
    await send("Profiler.start");
    const result = await during();
    const { profile } = await send("Profiler.stop");
    return { profile, result };
  } finally {
    // close the inspector once this session is gone (inspector.close() waits for open sessions)
    await send("Runtime.evaluate", { expression: `setTimeout(() => process.getBuiltinModule("node:inspector").close(), 200)` }).catch(
      () => undefined,
    );
    ws.close();
    await new Promise((r) => setTimeout(r, 400));
  }
}
