import { asAdmin, asGatewayEvent, asMember, memberId } from "@mallgraph/platform/access";
import type { QueryResolvers } from "../generated/graphql.ts";
import { asInternal } from "./internal.ts";

export const Query: QueryResolvers = {
  currencies: (_p, _a, ctx) => ctx.services.currencies.list(),
  me: asMember((_p, _a, ctx) => ctx.loaders.member.load(memberId(ctx))),
  sentMessages: asAdmin("message:read", (_p, a, ctx) => ctx.services.messages.sent(a.recipient, a.first ?? 10)),
  adminMembers: asAdmin("member:read", (_p, a, ctx) => ctx.services.members.page(a.first ?? 20, a.after)),
  adminAuditEntries: asAdmin("audit:read", (_p, a, ctx) => ctx.services.auditTrail.page(a.filter, a.first ?? 20, a.after)),
  adminRoles: asAdmin("admin:write", (_p, _a, ctx) => ctx.services.admin.roles()),
  adminPermissions: asAdmin("admin:write", (_p, _a, ctx) => ctx.services.admin.permissions()),
  adminMe: (_p, _a, ctx) => (ctx.identity.kind === "admin" && ctx.identity.id ? ctx.services.admin.operator(ctx.identity.id) : null),
  exportMyData: asMember((_p, _a, ctx) => ctx.services.account.exportData(memberId(ctx))),
  myMessages: asMember((_p, a, ctx) => ctx.services.inbox.list(memberId(ctx), a.first ?? 20, a.after)),
  messageReceivedEvent: asGatewayEvent((_p, a, ctx) =>
    ctx.identity.kind === "member" && ctx.identity.id ? ctx.services.inbox.forEvent(ctx.identity.id, a.eventId) : null,
  ),
  sessionEventsEvent: asGatewayEvent(async (_p, a, ctx) => {
    const e = await ctx.services.sessions.loadEvent(a.eventId);
    // Only the member (or operator) concerned may see it.
    if (!e || ctx.identity.kind !== (e.realm ?? "member") || ctx.identity.id !== e.memberId) return null;
    return e;
  }),
  myWalletLedger: asMember((_p, a, ctx) => ctx.services.ledger.memberLedger(memberId(ctx), a.currency, a.first ?? 20, a.after)),
  adminSystemAccounts: asAdmin("member:read", (_p, a, ctx) => ctx.services.ledger.systemAccounts(a.currency)),
  adminSystemLedger: asAdmin("member:read", (_p, a, ctx) =>
    ctx.services.ledger.systemLedger(a.account, a.currency, a.first ?? 20, a.after),
  ),
  adminWalletLedger: asAdmin("member:read", (_p, a, ctx) =>
    ctx.services.ledger.memberLedger(a.memberId, a.currency, a.first ?? 20, a.after),
  ),
  memberAddress: asInternal("memberAddress", (_p, a, ctx) => ctx.services.addresses.snapshot(a.memberId, a.addressId)),
  memberDefaultAddress: asInternal("memberDefaultAddress", (_p, a, ctx) => ctx.services.addresses.defaultSnapshot(a.memberId)),
};
