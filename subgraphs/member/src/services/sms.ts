/** SMS verification codes: issue (with the resend guard) and check (single use, counted tries). */
import { defineLua } from "@mallgraph/platform/redis";
import type { Redis } from "@mallgraph/platform/redis";
import type { Queue } from "bullmq";
import { invalidSmsCode, smsCodeExpired } from "../errors.ts";
import type { MemberKeys } from "../keys.ts";
import type { SendMessageJob } from "./job-contracts.ts";
import { assertPhone, newSmsCode, SMS_CODE_RE, SMS_CODE_TTL_SECONDS, SMS_MAX_WRONG_TRIES, SMS_RESEND_SECONDS } from "./rules.ts";

export interface SmsOptions {
  codeTtlSeconds?: number;
  resendSeconds?: number;
  maxWrongTries?: number;
}

export function createSmsService(redis: Redis, keys: MemberKeys, messages: Queue<SendMessageJob>, opts: SmsOptions = {}) {
  const issue = defineLua<[string, string, string, number, number], [number, number]>(
    redis,
    "memberIssueSmsCode",
    new URL("../lua/issueSmsCode-guard-code.lua", import.meta.url),
    2,
  );
  const check = defineLua<[string, string, number], string>(
    redis,
    "memberCheckSmsCode",
    new URL("../lua/checkSmsCode-code.lua", import.meta.url),
    1,
  );
  const ttl = opts.codeTtlSeconds ?? SMS_CODE_TTL_SECONDS;
  const resend = opts.resendSeconds ?? SMS_RESEND_SECONDS;
  const maxTries = opts.maxWrongTries ?? SMS_MAX_WRONG_TRIES;

  return {
    async request(phoneIn: string): Promise<{ ok: boolean; retryAfterSeconds: number }> {
      const phone = assertPhone(phoneIn);
      const code = newSmsCode();
      const [issued, wait] = await issue(keys.smsGuard(phone), keys.smsCode(phone), code, ttl, resend);
      if (Number(issued) !== 1) return { ok: false, retryAfterSeconds: Number(wait) };
      try {
        await messages.add("send", { channel: "SMS", recipient: phone, template: "sms-code", params: { code } });
      } catch (e) {
        // Not sent: take the code and the guard back so the user may ask again at once.
        await redis.del(keys.smsCode(phone), keys.smsGuard(phone));
        throw e;
      }
      return { ok: true, retryAfterSeconds: 0 };
    },

    /** Checks and consumes a code: INVALID_SMS_CODE when wrong, SMS_CODE_EXPIRED when none is valid. */
    async consume(phone: string, code: string): Promise<void> {
      const given = typeof code === "string" && SMS_CODE_RE.test(code) ? code : "-";
      const r = await check(keys.smsCode(phone), given, maxTries);
      if (r === "OK") return;
      if (r === "EXPIRED") throw smsCodeExpired();
      throw invalidSmsCode();
    },
  };
}
export type SmsService = ReturnType<typeof createSmsService>;
