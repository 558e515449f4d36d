/** Members: registration, logins, profile. */
import { logger } from "@mallgraph/platform/log";
import { writeOutbox } from "@mallgraph/platform/outbox";
import { alreadyExists, badInput, invalidCredentials, invalidSmsCode, isUniqueViolation, notFound } from "../errors.ts";
import type { PrismaClient, Member } from "../generated/prisma/client.ts";
import { issueNewUserCouponsJob } from "./job-contracts.ts";
import type { LoginLock } from "./loginLock.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import { assertPassword, assertPhone, assertUsername, deviceOf, SMS_CODE_RE } from "./rules.ts";
import type { SessionService, IssuedTokens } from "./sessions.ts";
import type { SmsService } from "./sms.ts";

export interface RegisterInput {
  phone: string;
  smsCode: string;
  password?: string | null;
  device?: string | null;
  username?: string | null;
}

export type LoginResult = IssuedTokens & { member: Member };

/**
 * Called after the registration transaction committed (member + wallet accounts + the outbox row
 * of its follow-ups, NEW_USER coupons): relays the outbox. Must be quick and must not depend on
 * other domains being up; a failure (or a crash before it) leaves the row for the worker's relay.
 */
export type OnRegistered = (memberId: string) => Promise<void>;

export function createMemberService(
  prisma: PrismaClient,
  sms: SmsService,
  sessions: SessionService,
  lock: LoginLock,
  onRegistered?: OnRegistered,
) {
  const log = logger("member");
  async function login(member: Member, device: string): Promise<LoginResult> {
    const tokens = await sessions.create({ realm: "member", subject: member.id, device });
    return { ...tokens, member };
  }

  return {
    async register(input: RegisterInput): Promise<LoginResult> {
      const phone = assertPhone(input.phone);
      const device = deviceOf(input.device);
      const password = input.password == null ? null : assertPassword(input.password);
      const username = input.username == null ? null : assertUsername(input.username);
      if (!SMS_CODE_RE.test(input.smsCode ?? "")) throw invalidSmsCode();
      if (await prisma.member.findUnique({ where: { phone }, select: { id: true } })) throw alreadyExists("phone");
      if (username && (await prisma.member.findUnique({ where: { username }, select: { id: true } }))) throw alreadyExists("username");
      await sms.consume(phone, input.smsCode);
      const passwordHash = password ? await hashPassword(password) : null;
      let member: Member;
      try {
        member = await prisma.$transaction(
          async (tx) => {
            const m = await tx.member.create({ data: { phone, username, passwordHash } });
            const currencies = await tx.currency.findMany({ select: { code: true } });
            if (currencies.length)
              await tx.walletAccount.createMany({ data: currencies.map((c) => ({ memberId: m.id, currency: c.code })) });
            await writeOutbox(tx, [issueNewUserCouponsJob(m.id)]);
            return m;
          },
          { maxWait: 10_000, timeout: 20_000 },
        );
      } catch (e) {
        if (isUniqueViolation(e))
          throw alreadyExists(
            String((e as { meta?: { target?: unknown } }).meta?.target ?? "").includes("username") ? "username" : "phone",
          );
        throw e;
      }
      // The member and its outbox row exist now: a failed relay is logged (the worker's relay sends the row), never a failed registration.
      if (onRegistered)
        await onRegistered(member.id).catch((err) => log.error({ err, memberId: member.id }, "registration follow-ups not relayed yet"));
      return login(member, device);
    },

    async loginWithPassword(phoneIn: string, password: string, deviceIn?: string | null): Promise<LoginResult> {
      const phone = assertPhone(phoneIn);
      const device = deviceOf(deviceIn);
      if (typeof password !== "string" || password.length > 128) throw invalidCredentials();
      const attempt = await lock.begin("member", phone);
      const member = await attempt.run(async () => {
        const m = await prisma.member.findUnique({ where: { phone } });
        if (!(await verifyPassword(password, m?.passwordHash)) || !m) throw invalidCredentials();
        return m;
      });
      return login(member, device);
    },

    async loginWithSmsCode(phoneIn: string, smsCode: string, deviceIn?: string | null): Promise<LoginResult> {
      const phone = assertPhone(phoneIn);
      const device = deviceOf(deviceIn);
      const attempt = await lock.begin("member", phone);
      const member = await attempt.run(async () => {
        await sms.consume(phone, smsCode);
        const m = await prisma.member.findUnique({ where: { phone } });
        // A valid code for an unregistered phone: same answer as a wrong password (register first).
        if (!m) throw invalidCredentials();
        return m;
      });
      return login(member, device);
    },

    async updateProfile(
      memberId: string,
      input: { nickname?: string | null; avatar?: string | null; username?: string | null },
    ): Promise<Member> {
      const data: { nickname?: string | null; avatar?: string | null; username?: string } = {};
      if (input.nickname !== undefined) {
        const n = input.nickname?.trim() ?? "";
        if (n.length > 40) throw badInput("nickname must have at most 40 characters", { field: "nickname" });
        data.nickname = n || null;
      }
      if (input.avatar !== undefined) {
        const a = input.avatar?.trim() ?? "";
        if (a && (a.length > 500 || !/^https?:\/\//.test(a)))
          throw badInput("avatar must be an http(s) URL of at most 500 characters", { field: "avatar" });
        data.avatar = a || null;
      }
      if (input.username !== undefined && input.username !== null) data.username = assertUsername(input.username);
      try {
        return await prisma.member.update({ where: { id: memberId }, data });
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyExists("username");
        if ((e as { code?: unknown } | null)?.code === "P2025") throw notFound("member", memberId);
        throw e;
      }
    },

    byIds(ids: readonly string[]): Promise<Member[]> {
      return prisma.member.findMany({ where: { id: { in: [...ids] } } });
    },

    async page(first: number, after?: string | null): Promise<{ items: Member[]; endCursor: string | null; hasNextPage: boolean }> {
      const take = Math.min(Math.max(first ?? 20, 1), 100);
      const rows = await prisma.member.findMany({
        where: after ? { id: { gt: after } } : undefined,
        orderBy: { id: "asc" },
        take: take + 1,
      });
      const items = rows.slice(0, take);
      return { items, endCursor: items.at(-1)?.id ?? null, hasNextPage: rows.length > take };
    },
  };
}
export type MemberService = ReturnType<typeof createMemberService>;
