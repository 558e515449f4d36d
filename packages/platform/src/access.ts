/**
 * Permission checks, declared once per field by wrapping its resolver:
 *
 *   Query: { me: asMember((_, __, ctx) => …), sentMessages: asAdmin("message:read", …) }
 */
import { audited, type AuditLog } from "./audit.ts";
import type { Identity } from "./auth.ts";
import { AppError, ErrorCode, forbidden, unauthenticated } from "./errors.ts";

export interface BaseContext {
  identity: Identity;
  requestId: string;
  /** The subgraph's audit trail (startSubgraph sets it): every operator Mutation writes to it. */
  audit?: AuditLog;
}

/** What guards a resolver, as the wrappers below mark it (read by the audit coverage test). */
export type Guard =
  | { kind: "operator"; permission: string; audited: boolean }
  | { kind: "member" }
  | { kind: "internal"; field: string }
  | { kind: "gateway-event" };
const GUARD = Symbol.for("mallgraph.guard");

function guarded<F extends (...a: any[]) => any>(fn: F, guard: Guard): F {
  (fn as any)[GUARD] = guard;
  return fn;
}

/** The guard a resolver was wrapped with (undefined: none of these wrappers). */
export function guardOf(fn: unknown): Guard | undefined {
  return typeof fn === "function" ? (fn as any)[GUARD] : undefined;
}

type Resolver<C, R, P, A, I> = (parent: P, args: A, ctx: C, info: I) => R;

export function memberId(ctx: BaseContext): string {
  if (ctx.identity.kind !== "member" || !ctx.identity.id) throw unauthenticated();
  return ctx.identity.id;
}

/** The operator's id, inside a field already declared `asAdmin(permission, …)` (the permission is not checked again). */
export function operatorId(ctx: BaseContext): string {
  if (ctx.identity.kind !== "admin" || !ctx.identity.id) throw unauthenticated("operator authentication required");
  return ctx.identity.id;
}

/** An operator holding `permission`; services hold no operator permissions (decision 0017). */
export function assertPermission(ctx: BaseContext, permission: string): string {
  const id = ctx.identity;
  if (id.kind === "internal") throw forbidden(`service ${id.service ?? "?"} holds no operator permission (${permission})`);
  if (id.kind !== "admin" || !id.id) throw unauthenticated("operator authentication required");
  if (!id.permissions?.includes(permission)) throw forbidden(`missing permission ${permission}`);
  return id.id;
}

/** A service, and (with `allowed`) one of the services `field` is declared for. */
export function assertInternal(ctx: BaseContext, field?: string, allowed?: readonly string[]): string {
  if (ctx.identity.kind !== "internal") throw new AppError(ErrorCode.FORBIDDEN, "internal field");
  const service = ctx.identity.service ?? "";
  if (allowed && !allowed.includes(service))
    throw new AppError(ErrorCode.SERVICE_NOT_ALLOWED, `service ${service || "?"} may not call ${field}`);
  return service;
}

/** The field needs a logged-in member. */
export function asMember<C extends BaseContext, R, P, A, I>(fn: Resolver<C, R, P, A, I>): Resolver<C, R, P, A, I> {
  return guarded(
    (p, a, ctx, i) => {
      memberId(ctx);
      return fn(p, a, ctx, i);
    },
    { kind: "member" },
  );
}

/**
 * The field needs an operator holding `permission`. On a Mutation it also writes the audit trail
 * (audit.ts): who, what, when, the request id and the before/after of every row it changed.
 */
export function asAdmin<C extends BaseContext, R, P, A, I>(permission: string, fn: Resolver<C, R, P, A, I>): Resolver<C, R, P, A, I> {
  return guarded(
    (p, a, ctx, i) => {
      assertPermission(ctx, permission);
      const info = i as { parentType?: { name: string }; fieldName?: string } | undefined; // GraphQLResolveInfo when GraphQL calls it
      if (info?.parentType?.name === "Mutation") return audited(ctx.audit, ctx, info.fieldName ?? "?", a, () => fn(p, a, ctx, i)) as R;
      return fn(p, a, ctx, i);
    },
    { kind: "operator", permission, audited: true },
  );
}

/**
 * A field only operators holding `permission` see; anyone else reads null (its SDL description says
 * so). For an object's fields that are not for all who may read the object (e.g. a strategy's
 * blacklist): the root field that returned the object was declared already.
 */
export function asAdminOrNull<C extends BaseContext, R, P, A, I>(
  permission: string,
  fn: Resolver<C, R, P, A, I>,
): Resolver<C, R | null, P, A, I> {
  return guarded(
    (p, a, ctx, i) => {
      const id = ctx.identity;
      return id.kind === "admin" && id.permissions?.includes(permission) ? fn(p, a, ctx, i) : null;
    },
    { kind: "operator", permission, audited: false },
  );
}

/** Which services may call which internal field of one subgraph: `{ couponLock: ["order"], … }`. */
export type CallerTable = Readonly<Record<string, readonly string[]>>;

/**
 * The guard of a subgraph's internal fields, from its caller table:
 *
 *   const asInternal = internalFields({ couponLock: ["order"] });
 *   Mutation: { couponLock: asInternal("couponLock", (_, a, ctx) => …) }
 *
 * Anyone but a service is FORBIDDEN; a service the table does not name is SERVICE_NOT_ALLOWED.
 */
export function internalFields<T extends CallerTable>(table: T) {
  return <C extends BaseContext, R, P, A, I>(field: keyof T & string, fn: Resolver<C, R, P, A, I>): Resolver<C, R, P, A, I> => {
    const allowed = table[field];
    return guarded(
      (p, a, ctx, i) => {
        assertInternal(ctx, field, allowed);
        return fn(p, a, ctx, i);
      },
      { kind: "internal", field },
    );
  };
}

/**
 * The field loads a live event's payload for the gateway's subscription engine. The gateway calls
 * it with the subscriber's identity plus `service: "gateway"`; the resolver still checks that this
 * subscriber may see the event.
 */
export function asGatewayEvent<C extends BaseContext, R, P, A, I>(fn: Resolver<C, R, P, A, I>): Resolver<C, R, P, A, I> {
  return guarded(
    (p, a, ctx, i) => {
      if (ctx.identity.service !== "gateway")
        throw new AppError(ErrorCode.FORBIDDEN, "event fields are for the gateway's subscription engine");
      return fn(p, a, ctx, i);
    },
    { kind: "gateway-event" },
  );
}
