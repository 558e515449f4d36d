/**
 * A member's self-service on their account: password change (the old password proves it; the other
 * sessions end) and reset by SMS code (every session ends). Both are login tries: they go through
 * the login lock (a wrong password or code counts as a failed login of the day; once locked, even
 * the right one is ACCOUNT_LOCKED). Account closure (PIPL) proves the same way and is refused while
 * money or orders are open (the orders keep their own copy of the address: the order's record); the
 * data export answers the member's personal data as JSON, with what order (their orders) and lottery
 * (draws, red envelopes, points) hold of them.
 */
import { formatAmount } from "@mallgraph/platform/money";
import { AppError, ErrorCode, MemberErrorCode, badInput } from "../errors.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { AddressMirror } from "./address-mirror.ts";
import type { LoginLock } from "./loginLock.ts";
import type { MemberLottery, MemberOrders } from "./orders.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import { assertPassword, assertPhone } from "./rules.ts";
import type { SessionService } from "./sessions.ts";
import type { SmsService } from "./sms.ts";

/**
 * Result codes: OK | WRONG_PASSWORD | INVALID_SMS_CODE (wrong, expired, or no member with that
 * phone) | MONEY_OPEN (a wallet balance or frozen amount is not zero) | ORDERS_OPEN (closeAccount).
 */
export const AccountCode = {
  OK: "OK",
  WRONG_PASSWORD: "WRONG_PASSWORD",
  INVALID_SMS_CODE: "INVALID_SMS_CODE",
  MONEY_OPEN: "MONEY_OPEN",
  ORDERS_OPEN: "ORDERS_OPEN",
} as const;
export type AccountCode = (typeof AccountCode)[keyof typeof AccountCode];

class Refused extends Error {
  constructor(readonly code: AccountCode) {
    super(code);
  }
}

const SMS_REFUSALS = new Set<string>([MemberErrorCode.INVALID_SMS_CODE, MemberErrorCode.SMS_CODE_EXPIRED]);

export interface AccountDeps {
  prisma: PrismaClient;
  sms: SmsService;
  sessions: SessionService;
  lock: LoginLock;
  orders: MemberOrders;
  lottery: MemberLottery;
  /** Member's address mirror (decision 0054): a closure deletes the addresses, so it bumps it too. */
  addressMirror?: AddressMirror;
}

/** What a closed account's phone becomes (unique, never a valid phone number). */
export const closedPhone = (memberId: string) => `closed:${memberId}`;

export function createAccountService(d: AccountDeps) {
  /** Runs `check` as a login try of `phone`; a Refused outcome counts as a failure and is answered as its code. */
  async function asLoginTry<T>(phone: string, check: () => Promise<T>): Promise<T | AccountCode> {
    const attempt = await d.lock.begin("member", phone);
    try {
      return await attempt.run(check);
    } catch (e) {
      if (e instanceof Refused) return e.code;
      if (e instanceof AppError && SMS_REFUSALS.has(String(e.extensions.code))) return AccountCode.INVALID_SMS_CODE;
      throw e;
    }
  }

  /** Password or SMS code of the member's phone, as a login try; null when it proves the member. */
  async function prove(
    phone: string,
    passwordHash: string | null,
    proof: { password?: string | null; smsCode?: string | null },
  ): Promise<AccountCode | null> {
    const r = await asLoginTry(phone, async () => {
      if (proof.password != null) {
        if (typeof proof.password !== "string" || proof.password.length > 128 || !(await verifyPassword(proof.password, passwordHash)))
          throw new Refused(AccountCode.WRONG_PASSWORD);
      } else await d.sms.consume(phone, proof.smsCode ?? "");
    });
    return r ?? null;
  }

  const moneyOpen = async (db: Pick<PrismaClient, "walletAccount">, memberId: string) =>
    (await db.walletAccount.count({ where: { memberId, OR: [{ balance: { not: 0 } }, { frozen: { not: 0 } }] } })) > 0;

  async function setPassword(memberId: string, password: string): Promise<void> {
    await d.prisma.member.update({ where: { id: memberId }, data: { passwordHash: await hashPassword(password) } });
  }

  return {
    async changePassword(memberId: string, sessionId: string, oldPassword: string, newPasswordIn: string): Promise<{ code: AccountCode }> {
      const newPassword = assertPassword(newPasswordIn, "newPassword");
      const member = await d.prisma.member.findUnique({ where: { id: memberId }, select: { phone: true, passwordHash: true } });
      if (!member) throw new AppError(ErrorCode.UNAUTHENTICATED, "no such member");
      const r = await prove(member.phone, member.passwordHash, { password: typeof oldPassword === "string" ? oldPassword : "" });
      if (r) return { code: r };
      await setPassword(memberId, newPassword);
      await d.sessions.endAll(memberId, "password changed", sessionId);
      return { code: AccountCode.OK };
    },

    async resetPassword(phoneIn: string, smsCode: string, newPasswordIn: string): Promise<{ code: AccountCode }> {
      const phone = assertPhone(phoneIn);
      const newPassword = assertPassword(newPasswordIn, "newPassword");
      const r = await asLoginTry(phone, async () => {
        await d.sms.consume(phone, smsCode);
        const m = await d.prisma.member.findUnique({ where: { phone }, select: { id: true } });
        // A valid code for a phone with no member: the same answer as a wrong code.
        if (!m) throw new Refused(AccountCode.INVALID_SMS_CODE);
        return m;
      });
      if (typeof r === "string") return { code: r };
      await setPassword(r.id, newPassword);
      await d.sessions.endAll(r.id, "password reset");
      return { code: AccountCode.OK };
    },

    /**
     * Closes the account: proven by the password or an SMS code, refused while a wallet holds money
     * (balance or frozen) or an order is open. Personal data goes (phone, username, password,
     * profile, addresses, inbox; the message center's rows name the anonymized phone); the member
     * row stays, anonymized, as the owner of its ledgers and orders. Every session ends.
     */
    async closeAccount(memberId: string, proof: { password?: string | null; smsCode?: string | null }): Promise<{ code: AccountCode }> {
      if ((proof.password == null) === (proof.smsCode == null)) throw badInput("give either password or smsCode", { field: "password" });
      const member = await d.prisma.member.findUnique({ where: { id: memberId } });
      if (!member || member.closedAt) throw new AppError(ErrorCode.UNAUTHENTICATED, "no such member");
      // Open money and orders first: a refused closure does not use up an SMS code.
      if (await moneyOpen(d.prisma, memberId)) return { code: AccountCode.MONEY_OPEN };
      if ((await d.orders.openCount(memberId)) > 0) return { code: AccountCode.ORDERS_OPEN };
      const r = await prove(member.phone, member.passwordHash, proof);
      if (r) return { code: r };
      const code = await d.prisma.$transaction(async (tx) => {
        // The member row and its accounts locked: no wallet movement slips in between the check and the closure.
        await tx.$queryRaw`SELECT id FROM "Member" WHERE id = ${memberId} FOR UPDATE`;
        await tx.$queryRaw`SELECT id FROM "WalletAccount" WHERE "memberId" = ${memberId} FOR UPDATE`;
        const again = await tx.member.findUniqueOrThrow({ where: { id: memberId } });
        if (again.closedAt) return AccountCode.OK;
        if (await moneyOpen(tx, memberId)) return AccountCode.MONEY_OPEN;
        const phone = closedPhone(memberId);
        await tx.member.update({
          where: { id: memberId },
          data: { phone, username: null, passwordHash: null, nickname: null, avatar: null, closedAt: new Date() },
        });
        await d.addressMirror?.bump(memberId);
        await tx.address.deleteMany({ where: { memberId } });
        await tx.inboxMessage.deleteMany({ where: { memberId } });
        await tx.message.updateMany({ where: { recipient: again.phone }, data: { recipient: phone } });
        return AccountCode.OK;
      });
      if (code === AccountCode.OK) {
        await d.addressMirror?.bumpAfterCommit(memberId);
        await d.sessions.endAll(memberId, "account closed");
      }
      return { code };
    },

    /** The member's personal data as JSON text (PIPL export): the member domain's, their orders (order) and their draws (lottery). */
    async exportData(memberId: string): Promise<string> {
      const m = await d.prisma.member.findUnique({
        where: { id: memberId },
        include: {
          addresses: { orderBy: { createdAt: "asc" } },
          accounts: { orderBy: { currency: "asc" }, include: { entries: { orderBy: { id: "asc" } } } },
        },
      });
      if (!m || m.closedAt) throw new AppError(ErrorCode.UNAUTHENTICATED, "no such member");
      const [inbox, sent, orders, lottery] = await Promise.all([
        d.prisma.inboxMessage.findMany({ where: { memberId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] }),
        d.prisma.message.findMany({ where: { recipient: m.phone }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] }),
        d.orders.exportOrders(memberId),
        d.lottery.exportLottery(memberId),
      ]);
      const at = (x: Date | null) => x?.toISOString() ?? null;
      return JSON.stringify({
        exportedAt: new Date().toISOString(),
        member: {
          id: m.id,
          phone: m.phone,
          username: m.username,
          nickname: m.nickname,
          avatar: m.avatar,
          hasPassword: m.passwordHash !== null,
          createdAt: at(m.createdAt),
        },
        addresses: m.addresses.map((a) => ({
          id: a.id,
          receiver: a.receiver,
          phone: a.phone,
          region: a.region,
          detail: a.detail,
          isDefault: a.isDefault,
          createdAt: at(a.createdAt),
        })),
        wallets: m.accounts.map((w) => ({
          currency: w.currency,
          balance: formatAmount(w.balance, w.currency),
          frozen: formatAmount(w.frozen, w.currency),
          ledger: w.entries.map((e) => ({
            type: e.type,
            amount: formatAmount(e.amount, w.currency),
            balanceAfter: formatAmount(e.balanceAfter, w.currency),
            reference: e.reference,
            createdAt: at(e.createdAt),
          })),
        })),
        inbox: inbox.map((x) => ({ kind: x.kind, title: x.title, body: x.body, read: x.readAt !== null, createdAt: at(x.createdAt) })),
        // What was sent to the phone (SMS codes without their code).
        sentMessages: sent.map((x) => ({
          channel: x.channel,
          template: x.template,
          body: x.template === "sms-code" ? null : x.body,
          createdAt: at(x.createdAt),
        })),
        // Held by order (address snapshots included) and lottery.
        orders,
        lottery,
      });
    },
  };
}
export type AccountService = ReturnType<typeof createAccountService>;
