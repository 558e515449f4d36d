/**
 * Graceful stop of an HTTP server (SIGTERM, decision 0032): no new connection is accepted, every
 * request in flight is answered, keep-alive connections are closed as soon as they are idle, and only
 * what is still running after `graceMs` is cut. The gateway and every subgraph stop this way, so a
 * request that reached a process is finished (its Lua script, its transaction) and its answer sent.
 */
import type http from "node:http";
import type { Logger } from "./log.ts";

export interface DrainReport {
  /** Requests being answered when the stop began. */
  inFlight: number;
  /** Requests still running when the grace ran out (their connections were closed). */
  cut: number;
}

/** Counts the requests a server is answering (from the request to the end of its response). */
export function countRequests(server: http.Server): () => number {
  let n = 0;
  server.on("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
    n++;
    res.once("close", () => n--);
  });
  return () => n;
}

/** Stops accepting, lets the requests in flight finish (at most `graceMs`), then closes what is left. */
export async function drainServer(
  server: http.Server,
  inFlight: () => number,
  opts: { graceMs?: number; log?: Logger; name?: string } = {},
): Promise<DrainReport> {
  const report: DrainReport = { inFlight: inFlight(), cut: 0 };
  const closed = new Promise<void>((r) => server.close(() => r()));
  server.closeIdleConnections();
  // a keep-alive connection becomes idle once its response is sent: close it then
  const idle = setInterval(() => server.closeIdleConnections(), 20);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), opts.graceMs ?? 10_000)));
  try {
    if ((await Promise.race([closed, late])) === "late") {
      report.cut = inFlight();
      server.closeAllConnections();
      await closed;
    }
  } finally {
    clearInterval(idle);
    clearTimeout(timer);
  }
  opts.log?.info(
    { ...report, server: opts.name },
    `stopped: ${report.inFlight - report.cut} request(s) in flight answered, ${report.cut} cut`,
  );
  return report;
}
