/**
 * `node --import <this file> <entry>`: starts tracing before the entry's modules load, when it is
 * on (see ./index.ts). Off, this is the only tracing module loaded. `npm start` and the end-to-end
 * stack pass it (scripts/stack.ts); the container image sets it in NODE_OPTIONS.
 */
import { tracingEnabled } from "./index.ts";

// `node -e …` (health checks) has no entry file: nothing to trace.
if (tracingEnabled() && process.argv[1]) {
  const { startTracing } = await import("./sdk.ts");
  await startTracing();
}
