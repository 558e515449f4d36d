import { asAdmin, asInternal, asMember, memberId } from "@mallgraph/platform/access";
import { AppError, ErrorCode } from "@mallgraph/platform/errors";
import type { MutationResolvers } from "../generated/graphql.ts";
import type { Context } from "../context.ts";
import type { LedgerType } from "../services/wallet.ts";
import { asSession } from "./access.ts";

const walletOp = (type: LedgerType) =>
  asInternal(async (_p: unknown, a: { memberId: string; currency: string; amount: string; reference: string }, ctx: Context) => {
    const r = await ctx.services.wallet.apply(a.memberId, a.currency, a.amount, type, a.reference);
    return { code: r.code, balance: r.wallet?.balance ?? null, frozen: r.wallet?.frozen ?? null };
  });

const memberWalletOp = (type: "TOPUP" | "WITHDRAW") =>
  asMember(async (_p: unknown, a: { currency: string; amount: string; idempotencyKey: string }, ctx: Context) => {
    // A free top-up credits any amount: refused in production until a top-up is a real payment.
    if (type === "TOPUP" && ctx.services.config.NODE_ENV === "production") throw new AppError(ErrorCode.TOP_UP_DISABLED, "wallet top-ups are not available here");
    const r = await ctx.services.wallet.apply(memberId(ctx), a.currency, a.amount, type, a.idempotencyKey);
    return { code: r.code === "OK" ? ("OK" as const) : ("INSUFFICIENT_BALANCE" as const), wallet: r.wallet };
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
  changePassword: asMember((_p, a, ctx) => ctx.services.account.changePassword(memberId(ctx), ctx.identity.sessionId ?? "", a.oldPassword, a.newPassword)),
  closeAccount: asMember((_p, a, ctx) => ctx.services.account.closeAccount(memberId(ctx), { password: a.password, smsCode: a.smsCode })),
  resetPassword: (_p, a, ctx) => ctx.services.account.resetPassword(a.phone, a.smsCode, a.newPassword),
  refreshSession: (_p, a, ctx) => ctx.services.sessions.refresh(a.refreshToken),
  logout: asSession((_p, _a, ctx) => ctx.services.sessions.logout(ctx.identity.sessionId!)),
  updateProfile: asMember((_p, a, ctx) => ctx.services.members.updateProfile(memberId(ctx), a.input)),
  addAddress: asMember((_p, a, ctx) => ctx.services.addresses.add(memberId(ctx), a.input)),
  updateAddress: asMember((_p, a, ctx) => ctx.services.addresses.update(memberId(ctx), a.id, a.input)),
  deleteAddress: asMember((_p, a, ctx) => ctx.services.addresses.remove(memberId(ctx), a.id)),
  setDefaultAddress: asMember((_p, a, ctx) => ctx.services.addresses.setDefault(memberId(ctx), a.id)),
  markMessagesRead: asMember((_p, a, ctx) => ctx.services.inbox.markRead(memberId(ctx), a.ids)),
  topUpWallet: memberWalletOp("TOPUP"),
  withdrawFromWallet: memberWalletOp("WITHDRAW"),

  adminLogin: (_p, a, ctx) => ctx.services.admin.login(a.username, a.password, a.device),
  adminCreateRole: asAdmin("admin:write", (_p, a, ctx) => ctx.services.admin.createRole(a.name, a.permissions, a.description)),
  adminAssignRole: asAdmin("admin:write", (_p, a, ctx) => ctx.services.admin.assignRole(a.operatorId, a.roleId)),
  adminCreateOperator: asAdmin("admin:write", (_p, a, ctx) => ctx.services.admin.createOperator(a.username, a.password, a.roleIds ?? [])),
  adminAddCurrency: asAdmin("currency:write", (_p, a, ctx) => ctx.services.currencies.add(a.code, a.name, a.decimals)),

  adminAdjustWallet: asAdmin("wallet:write", (_p, a, ctx) => ctx.services.ledger.adjust(a.memberId, a.currency, a.amount, a.reason, a.idempotencyKey)),
  adminFundMarketingAccount: asAdmin("wallet:write", (_p, a, ctx) => ctx.services.ledger.fundMarketing(a.currency, a.amount, a.reason, a.idempotencyKey)),

  walletFreeze: walletOp("FREEZE"),
  walletUnfreeze: walletOp("UNFREEZE"),
  walletCaptureFrozen: walletOp("CAPTURE"),
  walletCredit: walletOp("CREDIT"),
};
