/**
 * The test stacks' ports (scripts/stack.ts): a port freePort found free can be taken before our process
 * listens on it — by another stack's process (the e2e suites start several at once) or as the local
 * port of an outgoing connection. Our process then dies with EADDRINUSE, while the stranger answers
 * its /ready: the stack was taken as started, and its requests reached another stack (the e2e suites
 * together, 1 December: `gateway was not ready` with payment's EADDRINUSE in its log; a CreatePayment
 * INTERNAL_SERVER_ERROR of a full run that same hour fits the story, but nothing was logged to prove it).
 * Readiness now checks whose /health answers; startStack starts again on new ports.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, processGroup } from "../../scripts/stack.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "stack-ports-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a stack process whose port another process answers on", () => {
  it("is not taken as ready: the other process's /health names another instance", async () => {
    const port = await freePort();
    const stranger = http.createServer((req, res) => {
      const body = req.url === "/health" ? { status: "ok", instance: "another-stack-4242" } : { status: "ready" };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => stranger.listen(port, "127.0.0.1", r));
    // ours: a process that never listens (as one that died of EADDRINUSE would, a moment later)
    const file = path.join(dir, "idle.mjs");
    writeFileSync(file, "setInterval(() => {}, 1000);\n");
    const group = processGroup({ ...process.env }, { readyTimeoutMs: 10_000 });
    try {
      await expect(group.start([{ name: "idle", file, readyUrl: `http://127.0.0.1:${port}/ready` }])).rejects.toThrow(
        /answered by another process \(another-stack-4242/,
      );
    } finally {
      await group.stop();
      await new Promise((r) => stranger.close(r));
    }
  });
});
