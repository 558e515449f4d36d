/**
 * A member's self-service on their account: password change (the old password proves it; the other
 * sessions end) and reset by SMS code (every session ends). Both are login tries: they go through
 * the login lock (a wrong password or code counts as a failed login of the day; once locked, even
 * the right one is ACCOUNT_LOCKED).
 */
import type { PrismaClient } from "../generated/prisma/client.ts";
import { AppError, ErrorCode } from "../errors.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import { assertPassword, assertPhone } from "./rules.ts";
import type { LoginLock } from "./loginLock.ts";
import type { SessionService } from "./sessions.ts";
import type { SmsService } from "./sms.ts";

/** Result codes: OK | WRONG_PASSWORD (changePassword) | INVALID_SMS_CODE (resetPassword: wrong, expired, or no member with that phone). */
export const AccountCode = { OK: "OK", WRONG_PASSWORD: "WRONG_PASSWORD", INVALID_SMS_CODE: "INVALID_SMS_CODE" } as const;
export type AccountCode = (typeof AccountCode)[keyof typeof AccountCode];

class Refused extends Error {
  constructor(readonly code: AccountCode) {
    super(code);
  }
}

const SMS_REFUSALS = new Set<string>([ErrorCode.INVALID_SMS_CODE, ErrorCode.SMS_CODE_EXPIRED]);

export interface AccountDeps {
  prisma: PrismaClient;
  sms: SmsService;
  sessions: SessionService;
  lock: LoginLock;
}

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

  async function setPassword(memberId: string, password: string): Promise<void> {
    await d.prisma.member.update({ where: { id: memberId }, data: { passwordHash: await hashPassword(password) } });
  }

  return {
    async changePassword(memberId: string, sessionId: string, oldPassword: string, newPasswordIn: string): Promise<{ code: AccountCode }> {
      const newPassword = assertPassword(newPasswordIn, "newPassword");
      const member = await d.prisma.member.findUnique({ where: { id: memberId }, select: { phone: true, passwordHash: true } });
      if (!member) throw new AppError(ErrorCode.UNAUTHENTICATED, "no such member");
      const r = await asLoginTry(member.phone, async () => {
        if (typeof oldPassword !== "string" || oldPassword.length > 128 || !(await verifyPassword(oldPassword, member.passwordHash))) throw new Refused(AccountCode.WRONG_PASSWORD);
      });
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
  };
}
export type AccountService = ReturnType<typeof createAccountService>;
