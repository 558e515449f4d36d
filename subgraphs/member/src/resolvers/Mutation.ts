import { asAdmin, asMember, memberId } from "@mallgraph/platform/access";
import { defined } from "@mallgraph/platform/errors";
import type { Context } from "../context.ts";
import type { MutationResolvers } from "../generated/graphql.ts";
import type { PartnerKeyService } from "../services/partners.ts";
import type { LedgerType } from "../services/wallet.ts";
import { asSession } from "./access.ts";
import { asInternal, type InternalField } from "./internal.ts";

const walletOp = (field: InternalField, type: LedgerType) =>
  asInternal(field, async (_p: unknown, a: { memberId: string; currency: string; amount: string; reference: string }, ctx: Context) => {
    return opView(await ctx.services.wallet.apply(a.memberId, a.currency, a.amount, type, a.reference));
  });

const opView = (r: { code: string; wallet: { balance: string; frozen: string } | null }) => ({
  code: r.code,
  balance: r.wallet?.balance ?? null,
  frozen: r.wallet?.frozen ?? null,
});
const MARKETING = { system: "MARKETING" as const };

/** A partner key as the API shows it: times as ISO strings, the key itself only when just created. */
const partnerKey = (k: Awaited<ReturnType<PartnerKeyService["revoke"]>> & { key?: string }) => ({
  id: k.id,
  name: k.name,
  key: k.key ?? null,
  operations: k.operations,
  rateLimitPerMinute: k.rateLimitPerMinute,
  createdAt: k.createdAt.toISOString(),
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

/** The answer of a login shows the member their own fields (the caller is still anonymous). */
async function loggedIn<T extends { member: { id: string } }>(ctx: Context, p: Promise<T>): Promise<T> {
  const r = await p;
  ctx.loggedInAs.add(r.member.id);
  return r;
}

export const Mutation: MutationResolvers = {
  requestSmsCode: (_p, a, ctx) => ctx.services.sms.request(a.phone),
  register: (_p, a, ctx) => loggedIn(ctx, ctx.services.members.register(a.input)),
  loginWithPassword: (_p, a, ctx) => loggedIn(ctx, ctx.services.members.loginWithPassword(a.phone, a.password, a.device)),
  loginWithSmsCode: (_p, a, ctx) => loggedIn(ctx, ctx.services.members.loginWithSmsCode(a.phone, a.smsCode, a.device)),
  changePassword: asMember((_p, a, ctx) =>
    ctx.services.account.changePassword(memberId(ctx), ctx.identity.sessionId ?? "", a.oldPassword, a.newPassword),
  ),
  closeAccount: asMember((_p, a, ctx) => ctx.services.account.closeAccount(memberId(ctx), { password: a.password, smsCode: a.smsCode })),
  resetPassword: (_p, a, ctx) => ctx.services.account.resetPassword(a.phone, a.smsCode, a.newPassword),
  refreshSession: (_p, a, ctx) => ctx.services.sessions.refresh(a.refreshToken),
  logout: asSession((_p, _a, ctx) => ctx.services.sessions.logout(defined(ctx.identity.sessionId, "the session asSession checked"))),
  updateProfile: asMember((_p, a, ctx) => ctx.services.members.updateProfile(memberId(ctx), a.input)),
  addAddress: asMember((_p, a, ctx) => ctx.services.addresses.add(memberId(ctx), a.input)),
  updateAddress: asMember((_p, a, ctx) => ctx.services.addresses.update(memberId(ctx), a.id, a.input)),
  deleteAddress: asMember((_p, a, ctx) => ctx.services.addresses.remove(memberId(ctx), a.id)),
  setDefaultAddress: asMember((_p, a, ctx) => ctx.services.addresses.setDefault(memberId(ctx), a.id)),
  markMessagesRead: asMember((_p, a, ctx) => ctx.services.inbox.markRead(memberId(ctx), a.ids)),

  adminLogin: (_p, a, ctx) => ctx.services.admin.login(a.username, a.password, a.device),
  adminCreateRole: asAdmin("admin:write", (_p, a, ctx) => ctx.services.admin.createRole(a.name, a.permissions, a.description)),
  adminAssignRole: asAdmin("admin:write", (_p, a, ctx) => ctx.services.admin.assignRole(a.operatorId, a.roleId)),
  adminCreateOperator: asAdmin("admin:write", (_p, a, ctx) => ctx.services.admin.createOperator(a.username, a.password, a.roleIds ?? [])),
  adminCreatePartnerKey: asAdmin("partner:write", async (_p, a, ctx) =>
    partnerKey(await ctx.services.partners.create(defined(ctx.identity.id, "the operator asAdmin checked"), a)),
  ),
  adminRevokePartnerKey: asAdmin("partner:write", async (_p, a, ctx) => partnerKey(await ctx.services.partners.revoke(a.id))),
  adminAddCurrency: asAdmin("currency:write", (_p, a, ctx) => ctx.services.currencies.add(a.code, a.name, a.decimals)),

  adminAdjustWallet: asAdmin("wallet:write", (_p, a, ctx) =>
    ctx.services.ledger.adjust(a.memberId, a.currency, a.amount, a.reason, a.idempotencyKey),
  ),
  adminFundMarketingAccount: asAdmin("wallet:write", (_p, a, ctx) =>
    ctx.services.ledger.fundMarketing(a.currency, a.amount, a.reason, a.idempotencyKey),
  ),

  walletFreeze: walletOp("walletFreeze", "FREEZE"),
  walletUnfreeze: walletOp("walletUnfreeze", "UNFREEZE"),
  walletCaptureFrozen: walletOp("walletCaptureFrozen", "CAPTURE"),
  walletCredit: walletOp("walletCredit", "CREDIT"),
  walletTopUp: walletOp("walletTopUp", "TOPUP"),
  marketingBudgetFreeze: asInternal("marketingBudgetFreeze", async (_p, a, ctx) =>
    opView(await ctx.services.wallet.single(MARKETING, a.currency, a.amount, "FREEZE", a.reference)),
  ),
  marketingBudgetRelease: asInternal("marketingBudgetRelease", async (_p, a, ctx) =>
    opView(await ctx.services.wallet.single(MARKETING, a.currency, a.amount, "UNFREEZE", a.reference, { settle: "partial" })),
  ),
  marketingGrant: asInternal("marketingGrant", async (_p, a, ctx) => {
    const r = await ctx.services.wallet.transfer({
      from: MARKETING,
      fromType: "CAPTURE",
      to: { memberId: a.memberId },
      currency: a.currency,
      amount: a.amount,
      reference: a.reference,
      settle: "none",
    });
    return opView({ code: r.code, wallet: r.to });
  }),
  walletPayOut: walletOp("walletPayOut", "WITHDRAW"),
};
