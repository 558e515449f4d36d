/**
 * The name of this process among several instances of the same kind (decision 0033): INSTANCE_ID
 * when set (e.g. `gateway-a`, a pod name), else `<hostname>-<pid>`. It is in every log line, in the
 * /health answer, and names the BullMQ worker (a job's `processedBy`).
 */
import { hostname } from "node:os";

export function instanceId(env: NodeJS.ProcessEnv = process.env): string {
  return env.INSTANCE_ID || `${hostname()}-${process.pid}`;
}
