/**
 * Sessions revoked while a subgraph handles a request are named in the response header
 * `x-mg-revoked-sessions`, so the gateway instance that forwarded the request forgets them before
 * it answers (logout, refresh-token reuse, a kick-out by a newer login are then refused at once on
 * that instance; other instances learn it from the `sessionEvents` live event, or when their ~1 s
 * session cache expires).
 */
import { AsyncLocalStorage } from "node:async_hooks";

export const REVOKED_SESSIONS_HEADER = "x-mg-revoked-sessions";

const scope = new AsyncLocalStorage<string[]>();

/** Runs `fn` collecting the sessions revoked meanwhile; returns its result and what was revoked. */
export async function collectRevokedSessions<T>(fn: () => Promise<T>): Promise<{ result: T; revoked: string[] }> {
  const revoked: string[] = [];
  const result = await scope.run(revoked, fn);
  return { result, revoked };
}

/** Called by the code that revokes a session (member's session service). */
export function noteRevokedSession(sessionId: string): void {
  scope.getStore()?.push(sessionId);
}
