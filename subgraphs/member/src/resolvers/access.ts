/** Field guards of this subgraph beyond the platform wrappers. */
import { AppError, ErrorCode, unauthenticated } from "@mallgraph/platform/errors";
import type { Context } from "../context.ts";

/** A member's private fields: the member, operators with member:read, and services. */
export function canSeeMember(ctx: Context, memberId: string): void {
  const id = ctx.identity;
  if (id.kind === "internal") return;
  if (id.kind === "member" && id.id === memberId) return;
  if (ctx.loggedInAs.has(memberId)) return;
  if (id.kind === "admin" && id.permissions?.includes("member:read")) return;
  if (id.kind === "anonymous") throw unauthenticated();
  throw new AppError(ErrorCode.FORBIDDEN, "not allowed to see this member's private fields");
}

/** The field needs a live member or operator session (logout). */
export function asSession<R, P, A, I>(fn: (p: P, a: A, ctx: Context, i: I) => R) {
  return (p: P, a: A, ctx: Context, i: I): R => {
    const id = ctx.identity;
    if ((id.kind !== "member" && id.kind !== "admin") || !id.id || !id.sessionId) throw unauthenticated();
    return fn(p, a, ctx, i);
  };
}
