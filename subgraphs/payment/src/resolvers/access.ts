/** Field guard: the buyer (member) or an operator holding `permission`. */
import { assertPermission, memberId, type BaseContext } from "@mallgraph/platform/access";

export type Viewer = { kind: "buyer"; id: string } | { kind: "operator" };

export function viewer(ctx: BaseContext, permission = "payment:read"): Viewer {
  if (ctx.identity.kind === "admin" || ctx.identity.kind === "internal") {
    assertPermission(ctx, permission);
    return { kind: "operator" };
  }
  return { kind: "buyer", id: memberId(ctx) };
}

export function asBuyerOrAdmin<C extends BaseContext, R, P, A>(permission: string, fn: (parent: P, args: A, ctx: C, v: Viewer) => R) {
  return (parent: P, args: A, ctx: C) => fn(parent, args, ctx, viewer(ctx, permission));
}
