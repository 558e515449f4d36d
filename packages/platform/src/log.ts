/** Structured JSON logging (pino). One root logger a process; children carry the service name. */
import { pino, type Logger } from "pino";
import { instanceId } from "./instance.ts";

export type { Logger };

let root: Logger | undefined;

export function logger(service?: string): Logger {
  if (!root) {
    root = pino({
      level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
      base: { pid: process.pid, instance: instanceId() },
      redact: {
        paths: ["password", "*.password", "smsCode", "*.smsCode", "refreshToken", "*.refreshToken", "authorization", "*.authorization"],
        censor: "[redacted]",
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    });
  }
  return service ? root.child({ service }) : root;
}
