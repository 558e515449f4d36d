/** Field guards of payment beyond asMember / asAdmin. */
import { assertPermission, memberId, type BaseContext } from "@mallgraph/platform/access";
import { forbidden } from "@mallgraph/platform/errors";

export type Viewer = { kind: "buyer"; id: string } | { kind: "operator" };

export function viewer(ctx: BaseContext, permission = "payment:read"): Viewer {
  if (ctx.identity.kind === "admin" || ctx.identity.kind === "internal") {
    assertPermission(ctx, permission);
    return { kind: "operator" };
  }
  return { kind: "buyer", id: memberId(ctx) };
}

/** The buyer (member) or an operator holding `permission`. */
export function asBuyerOrAdmin<C extends BaseContext, R, P, A>(permission: string, fn: (parent: P, args: A, ctx: C, v: Viewer) => R) {
  return (parent: P, args: A, ctx: C) => fn(parent, args, ctx, viewer(ctx, permission));
}

/** A member on the staff of the merchant named by the `merchantId` argument (any role); FORBIDDEN otherwise. */
export function asMerchantStaff<
  C extends BaseContext & { services: { merchants: { roleAt(memberId: string, merchantId: string): Promise<unknown> } } },
  A extends { merchantId: string },
  R,
  P = unknown,
>(fn: (parent: P, args: A, ctx: C) => R | Promise<R>) {
  return async (parent: P, args: A, ctx: C): Promise<R> => {
    if (!(await ctx.services.merchants.roleAt(memberId(ctx), args.merchantId))) throw forbidden("not staff of this merchant");
    return fn(parent, args, ctx);
  };
}
