/**
 * The audit scope of an operator mutation (audit.ts), in a module of its own so that platform code
 * audit.ts builds on (the outbox relay) can step out of it without importing audit.ts.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** Runs `fn` outside any audit scope: delivery work after a commit (relays, publishers) is no change of the mutation. */
export function unaudited<T>(fn: () => Promise<T>): Promise<T> {
  return auditFrames.exit(async () => await fn());
}

export const auditFrames = new AsyncLocalStorage<any>();
