/**
 * Withdrawals are payouts (decision 0026). A member's withdrawal is a Payout (one per idempotency
 * key) on a channel with a payout API: the amount is frozen in the member's wallet (reference
 * `payout:<id>`), then asked of the channel, which answers PROCESSING and calls back, signed, when the
 * money has reached the payee. The first verified "finished" notification moves the payout PENDING →
 * SUCCEEDED | FAILED (one conditional update: 50 duplicate callbacks have one effect); the wallet is
 * settled after it, once per reference: a paid-out freeze leaves the platform (walletPayOut, a
 * WITHDRAW with no counter-account), a failed one is released (walletUnfreeze). A success is booked
 * in the merchant ledger as a PAYOUT of the platform's app (the money the top-ups brought in leaves).
 */
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { AppError, ErrorCode, badInput } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import type { Channel, HttpAnswer, PayoutNotification, PayoutOutcome } from "../channels/types.ts";
import { AnomalyReason, ChannelError, PaymentCode, SignatureError, type WalletRefusal, type WithdrawCode } from "../errors.ts";
import type { Payout } from "../generated/prisma/client.ts";
import { debitPayout } from "./ledger.ts";
import { CALLBACK_PATHS, CHANNELS, recordAnomaly, sameAmount, type PaymentDeps } from "./shared.ts";

/** The wallet reference of a payout's freeze and of its settlement. */
export const payoutRef = (p: { id: string }) => `payout:${p.id}`;

/** The largest withdrawal (exclusive). */
const MAX_PAYOUT = "1000000";

type WithdrawOutcome = { code: WithdrawCode; message?: string; payout: Payout | null };

export class PaymentPayouts {
  constructor(private readonly d: PaymentDeps) {}

  /** The member's withdrawal: a payout on `channel`, one per idempotency key (another amount, currency or channel under the same key is CONFLICT). */
  async withdraw(memberId: string, currency: string, amountText: string, channel: Channel, key: string): Promise<WithdrawOutcome> {
    if (!CHANNELS.includes(channel)) throw badInput(`unknown channel ${channel}`, { field: "channel" });
    if (channel === "WALLET") throw badInput("a withdrawal leaves the wallet through a provider channel", { field: "channel" });
    const payoutKey = typeof key === "string" ? key.trim() : "";
    if (!payoutKey || payoutKey.length > 120) throw badInput("idempotencyKey must have 1 to 120 characters", { field: "idempotencyKey" });
    if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency))
      throw badInput("currency must be a 3-letter code", { field: "currency" });
    const amount = parseAmount(amountText, currency);
    if (amount.greaterThanOrEqualTo(MAX_PAYOUT)) throw badInput(`a withdrawal is less than ${MAX_PAYOUT}`, { field: "amount" });
    const prior = await this.d.prisma.payout.findUnique({ where: { memberId_payoutKey: { memberId, payoutKey } } });
    if (prior) return same(prior, currency, amount.toString(), channel);

    if (channel === "SANDBOX" && !this.d.options.sandboxEnabled)
      return { code: PaymentCode.CHANNEL_DISABLED, message: "the SANDBOX channel is off (SANDBOX_ENABLED)", payout: null };
    if (!this.d.adapters[channel].payout)
      return { code: PaymentCode.PAYOUT_UNSUPPORTED, message: `payouts through ${channel} are not built`, payout: null };
    const app = await this.d.merchants.defaultApp();
    const cfg = await this.d.merchants.channelConfig(app.id, channel);
    if (!cfg || !cfg.enabled) return { code: PaymentCode.CHANNEL_DISABLED, message: `${channel} is not enabled`, payout: null };

    let payout: Payout;
    try {
      payout = await this.d.prisma.payout.create({
        data: { memberId, payoutKey, appId: app.id, merchantId: app.merchantId, channel, amount: amount.toString(), currency },
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const again = await this.d.prisma.payout.findUnique({ where: { memberId_payoutKey: { memberId, payoutKey } } });
      if (again) return same(again, currency, amount.toString(), channel);
      throw e;
    }
    try {
      const refused = await this.send(payout, { inline: true });
      if (refused) {
        // The wallet refused the freeze: nothing was taken, nothing is kept (the key may be used again).
        await this.d.prisma.payout.delete({ where: { id: payout.id } });
        return { code: refused, message: `the wallet refused: ${refused}`, payout: null };
      }
    } catch (e) {
      // Unknown outcome (the wallet or the provider unreachable): the job retries; both sides are idempotent.
      this.d.log.warn({ err: e, payoutId: payout.id }, "payout not sent yet; retried by the send-payout job");
      await this.d.notifyQueue.add(
        "send-payout",
        { payoutId: payout.id },
        { jobId: `send-payout-${payout.id}`, delay: 1000, attempts: 20, backoff: { type: "exponential", delay: 2000 } },
      );
    }
    return { code: PaymentCode.OK, payout: await this.d.prisma.payout.findUniqueOrThrow({ where: { id: payout.id } }) };
  }

  /**
   * Freezes the amount (once per reference) and asks the channel (once per out_payout_no). Inline, a
   * refused freeze is answered as its code; in the job it fails the payout. A channel that refuses
   * fails the payout (the freeze is released).
   */
  async send(p: Payout, opts: { inline?: boolean } = {}): Promise<WalletRefusal | null> {
    if (p.status !== "PENDING" || p.providerPayoutNo) return null;
    const amount = formatAmount(p.amount, p.currency);
    const frozen = await this.d.ports.wallet.op("walletFreeze", p.memberId, p.currency, amount, payoutRef(p));
    if (frozen.code === "INSUFFICIENT_BALANCE" || frozen.code === "NO_ACCOUNT") {
      const code = frozen.code === "NO_ACCOUNT" ? PaymentCode.NO_WALLET_ACCOUNT : PaymentCode.INSUFFICIENT_BALANCE;
      if (opts.inline) return code;
      await this.d.prisma.payout.updateMany({
        where: { id: p.id, status: "PENDING" },
        data: { status: "FAILED", failure: code, completedAt: new Date(), walletSettledAt: new Date() },
      });
      return code;
    }
    if (frozen.code !== "OK") throw new Error(`walletFreeze answered ${frozen.code}`);
    const cfg = await this.d.merchants.channelConfig(p.appId, p.channel);
    let outcome: PayoutOutcome;
    try {
      if (!cfg) throw new ChannelError(`${p.channel} is not configured for the app`);
      const notifyUrl = `${this.d.options.callbackBaseUrl()}/callbacks/${CALLBACK_PATHS[p.channel as Exclude<Channel, "WALLET">]}/payout`;
      const adapter = this.d.adapters[p.channel];
      if (!adapter.payout) throw new Error(`internal error: the ${p.channel} adapter has no payout`);
      outcome = await adapter.payout({ id: p.id, payee: p.memberId, amount, currency: p.currency }, cfg, notifyUrl);
    } catch (e) {
      if (!(e instanceof ChannelError)) throw e;
      outcome = { status: "FAILED", message: e.message };
    }
    if (outcome.status === "PROCESSING") {
      await this.d.prisma.payout.updateMany({
        where: { id: p.id, status: "PENDING" },
        data: { providerPayoutNo: outcome.providerPayoutNo ?? null },
      });
      return null;
    }
    await this.finish(p.id, outcome.status === "SUCCEEDED", outcome);
    return null;
  }

  /** Job `send-payout`: the retry of a send whose outcome was unknown. */
  async sendById(payoutId: string): Promise<string> {
    const p = await this.d.prisma.payout.findUnique({ where: { id: payoutId } });
    if (!p) return "done";
    return (await this.send(p)) ?? "sent";
  }

  /** A provider's payout notification: verify, check amount, finish once. Answers what the provider expects. */
  async handleCallback(channel: Channel, headers: Record<string, string | string[] | undefined>, body: Buffer): Promise<HttpAnswer> {
    const adapter = this.d.adapters[channel];
    let n: PayoutNotification;
    try {
      if (!adapter.verifyPayoutNotification) throw new SignatureError(`${channel} has no payout notifications`);
      n = await adapter.verifyPayoutNotification(headers, body);
    } catch (e) {
      if (e instanceof SignatureError) {
        this.d.log.warn({ channel, reason: e.message }, "payout callback refused: signature");
        return adapter.nack(e.message);
      }
      throw e;
    }
    const p = await this.d.prisma.payout.findUnique({ where: { id: n.outPayoutNo } }).catch(() => null);
    if (!p || p.channel !== channel) {
      await recordAnomaly(this.d.prisma, channel, null, AnomalyReason.UNKNOWN_TRADE, { outPayoutNo: n.outPayoutNo, notifyId: n.notifyId });
      return adapter.nack("unknown payout");
    }
    if (n.status === "PROCESSING") return adapter.ack();
    if (n.currency !== p.currency || !sameAmount(n.amount, p.amount)) {
      await recordAnomaly(this.d.prisma, channel, null, AnomalyReason.AMOUNT_MISMATCH, {
        payoutId: p.id,
        expected: `${formatAmount(p.amount, p.currency)} ${p.currency}`,
        got: `${n.amount} ${n.currency}`,
        notifyId: n.notifyId,
      });
      return adapter.nack("refused");
    }
    await this.finish(p.id, n.status === "SUCCEEDED", { providerPayoutNo: n.providerPayoutNo, message: n.failure });
    return adapter.ack();
  }

  /**
   * PENDING → SUCCEEDED | FAILED once (a success booked in the merchant ledger in the same
   * transaction); then the wallet is settled, by the `settle-payout` job and at once.
   */
  private async finish(payoutId: string, succeeded: boolean, info: { providerPayoutNo?: string; message?: string }): Promise<void> {
    const won = await this.d.prisma.$transaction(async (tx) => {
      const r = await tx.payout.updateMany({
        where: { id: payoutId, status: "PENDING" },
        data: {
          status: succeeded ? "SUCCEEDED" : "FAILED",
          completedAt: new Date(),
          failure: succeeded ? null : (info.message ?? "the channel failed the payout").slice(0, 500),
          ...(info.providerPayoutNo ? { providerPayoutNo: info.providerPayoutNo } : {}),
        },
      });
      if (r.count === 0) return false;
      if (succeeded) await debitPayout(tx, await tx.payout.findUniqueOrThrow({ where: { id: payoutId } }));
      return true;
    });
    if (!won) return;
    await this.d.notifyQueue.add(
      "settle-payout",
      { payoutId },
      { jobId: `settle-payout-${payoutId}`, attempts: 30, backoff: { type: "exponential", delay: 1000 } },
    );
    await this.settle(payoutId).catch((e) => this.d.log.warn({ err: e, payoutId }, "payout settled later by its job"));
  }

  /** Job `settle-payout`: the finished payout's freeze leaves the wallet (SUCCEEDED) or is released (FAILED); once per reference. */
  async settle(payoutId: string): Promise<string> {
    const p = await this.d.prisma.payout.findUnique({ where: { id: payoutId } });
    if (!p || p.status === "PENDING" || p.walletSettledAt) return "done";
    const op = p.status === "SUCCEEDED" ? "walletPayOut" : "walletUnfreeze";
    const r = await this.d.ports.wallet.op(op, p.memberId, p.currency, formatAmount(p.amount, p.currency), payoutRef(p));
    if (r.code !== "OK") throw new Error(`${op} answered ${r.code}`);
    await this.d.prisma.payout.updateMany({ where: { id: p.id, walletSettledAt: null }, data: { walletSettledAt: new Date() } });
    return p.status === "SUCCEEDED" ? "paid-out" : "released";
  }

  /** The member's own payout (null when unknown or another member's). */
  async forMember(memberId: string, payoutId: string): Promise<Payout | null> {
    const p = await this.d.prisma.payout.findUnique({ where: { id: payoutId } }).catch(() => null);
    return p && p.memberId === memberId ? p : null;
  }
}

/** A repeated withdrawal key: the same payout, or CONFLICT when the key was used for another withdrawal. */
function same(p: Payout, currency: string, amount: string, channel: Channel): WithdrawOutcome {
  if (p.currency !== currency || !new Decimal(p.amount.toString()).eq(amount) || p.channel !== channel)
    throw new AppError(ErrorCode.CONFLICT, "idempotencyKey was already used for another withdrawal");
  return { code: PaymentCode.OK, payout: p };
}
