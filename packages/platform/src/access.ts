/**
 * Permission checks, declared once per field by wrapping its resolver:
 *
 *   Query: { me: asMember((_, __, ctx) => …), sentMessages: asAdmin("message:read", …) }
 */
import type { Identity } from "./auth.ts";
import { AppError, ErrorCode, forbidden, unauthenticated } from "./errors.ts";

export interface BaseContext {
  identity: Identity;
  requestId: string;
}

type Resolver<C, R> = (parent: any, args: any, ctx: C, info: any) => R;

export function memberId(ctx: BaseContext): string {
  if (ctx.identity.kind !== "member" || !ctx.identity.id) throw unauthenticated();
  return ctx.identity.id;
}

export function assertPermission(ctx: BaseContext, permission: string): string {
  const id = ctx.identity;
  if (id.kind === "internal") return id.service ?? "internal";
  if (id.kind !== "admin" || !id.id) throw unauthenticated("operator authentication required");
  if (!id.permissions?.includes(permission)) throw forbidden(`missing permission ${permission}`);
  return id.id;
}

export function assertInternal(ctx: BaseContext): string {
  if (ctx.identity.kind !== "internal") throw new AppError(ErrorCode.FORBIDDEN, "internal field");
  return ctx.identity.service ?? "internal";
}

/** The field needs a logged-in member. */
export function asMember<C extends BaseContext, R>(fn: Resolver<C, R>): Resolver<C, R> {
  return (p, a, ctx, i) => {
    memberId(ctx);
    return fn(p, a, ctx, i);
  };
}

/** The field needs an operator holding `permission` (or a trusted service). */
export function asAdmin<C extends BaseContext, R>(permission: string, fn: Resolver<C, R>): Resolver<C, R> {
  return (p, a, ctx, i) => {
    assertPermission(ctx, permission);
    return fn(p, a, ctx, i);
  };
}

/** The field is for trusted services only (the gateway's subscription engine, other subgraphs). */
export function asInternal<C extends BaseContext, R>(fn: Resolver<C, R>): Resolver<C, R> {
  return (p, a, ctx, i) => {
    assertInternal(ctx);
    return fn(p, a, ctx, i);
  };
}

/**
 * The field loads a live event's payload for the gateway's subscription engine. The gateway calls
 * it with the subscriber's identity plus `service: "gateway"`; the resolver still checks that this
 * subscriber may see the event.
 */
export function asGatewayEvent<C extends BaseContext, R>(fn: Resolver<C, R>): Resolver<C, R> {
  return (p, a, ctx, i) => {
    if (ctx.identity.service !== "gateway") throw new AppError(ErrorCode.FORBIDDEN, "event fields are for the gateway's subscription engine");
    return fn(p, a, ctx, i);
  };
}
