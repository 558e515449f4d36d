/**
 * Creating (or reusing) a payment for an order on a channel: the checkout at the provider, or the
 * WALLET freeze → capture → book workflow; a wallet top-up (a payment without an order) on a provider
 * channel; every open payment gets its close job (the time-out).
 */
import { randomBytes } from "node:crypto";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { AppError, ErrorCode, badInput, forbidden, notFound } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import type { Channel } from "../channels/types.ts";
import { ChannelError, PaymentCode, isWalletRefusal, type CreateCode, type TopUpCode } from "../errors.ts";
import type { ChannelConfig, Payment } from "../generated/prisma/client.ts";
import { payFromWallet } from "../workflows/walletPayment.ts";
import { WorkflowAbort } from "../workflows/workflow.ts";
import type { PaymentClosing } from "./closing.ts";
import type { PaymentNotifications } from "./notifications.ts";
import type { PaymentReads } from "./read.ts";
import { CALLBACK_PATHS, CHANNELS, ORDER_PAID_STATES, PAID_STATES, toRecord, type PaymentDeps } from "./shared.ts";

type CreateOutcome = { code: CreateCode; message?: string; payment: Payment | null };
type TopUpOutcome = { code: TopUpCode; message?: string; payment: Payment | null };

/** The largest top-up (exclusive). */
const MAX_TOP_UP = "1000000";

export class PaymentCheckout {
  constructor(
    private readonly d: PaymentDeps,
    private readonly reads: PaymentReads,
    private readonly closing: PaymentClosing,
    private readonly notifications: PaymentNotifications,
  ) {}

  async createPayment(buyerId: string, orderId: string, channel: Channel): Promise<CreateOutcome> {
    if (!CHANNELS.includes(channel)) throw badInput(`unknown channel ${channel}`, { field: "channel" });
    if (channel === "SANDBOX" && !this.d.options.sandboxEnabled)
      return { code: PaymentCode.CHANNEL_DISABLED, message: "the SANDBOX channel is off (SANDBOX_ENABLED)", payment: null };
    const order = await this.d.ports.order.orderForPayment(orderId);
    if (!order) throw notFound("order", orderId);
    if (order.buyerId !== buyerId) throw forbidden("not your order");

    const paid = await this.d.prisma.payment.findFirst({ where: { orderId, status: { in: [...PAID_STATES] } } });
    if (paid) return { code: PaymentCode.ALREADY_PAID, message: "the order is already paid", payment: paid };
    if (order.status !== "PENDING_PAYMENT") {
      if (ORDER_PAID_STATES.has(order.status))
        return { code: PaymentCode.ALREADY_PAID, message: `the order is ${order.status}`, payment: null };
      return { code: PaymentCode.ORDER_NOT_PAYABLE, message: `the order is ${order.status}`, payment: null };
    }
    const amount = parseAmount(order.payable, order.currency, { field: "payable" });

    const app = await this.d.merchants.defaultApp();
    const cfg = await this.d.merchants.channelConfig(app.id, channel);
    if (!cfg || !cfg.enabled) return { code: PaymentCode.CHANNEL_DISABLED, message: `${channel} is not enabled`, payment: null };

    const open = await this.d.prisma.payment.findFirst({ where: { orderId, channel, status: "PENDING" } });
    if (open) {
      if (open.expiresAt.getTime() > Date.now()) return { code: PaymentCode.OK, payment: open };
      // Expired but its close job has not run yet: close it now (asking the channel first).
      if ((await this.closing.closePayment(open.id)) === "recovered")
        return { code: PaymentCode.ALREADY_PAID, message: "the order is already paid", payment: await this.reads.get(open.id) };
    }

    let payment: Payment;
    try {
      payment = await this.d.prisma.payment.create({
        data: {
          orderId,
          orderNo: order.orderNo,
          buyerId,
          appId: app.id,
          merchantId: app.merchantId,
          channel,
          amount: amount.toString(),
          currency: order.currency,
          subject: order.subject || `Order ${order.orderNo}`,
          checkoutRef: newCheckoutRef(),
          expiresAt: this.expiry(),
          walletFrozen: channel === "WALLET",
        },
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const again = await this.d.prisma.payment.findFirst({ where: { orderId, channel, status: "PENDING" } });
      if (again) return { code: PaymentCode.OK, payment: again };
      throw e;
    }

    if (channel === "WALLET") return this.payFromWallet(payment, cfg);
    return this.checkoutAtProvider(payment, cfg);
  }

  /**
   * A top-up of the member's own wallet is a payment (purpose WALLET_TOP_UP, no order) on a provider
   * channel — never WALLET; one payment per idempotency key. The wallet is credited once, when the
   * payment succeeds (notifications.ts).
   */
  async topUp(buyerId: string, currency: string, amountText: string, channel: Channel, key: string): Promise<TopUpOutcome> {
    if (!CHANNELS.includes(channel)) throw badInput(`unknown channel ${channel}`, { field: "channel" });
    if (channel === "WALLET") throw badInput("a wallet cannot be topped up from itself", { field: "channel" });
    if (channel === "SANDBOX" && !this.d.options.sandboxEnabled)
      return { code: PaymentCode.CHANNEL_DISABLED, message: "the SANDBOX channel is off (SANDBOX_ENABLED)", payment: null };
    const topUpKey = typeof key === "string" ? key.trim() : "";
    if (!topUpKey || topUpKey.length > 120) throw badInput("idempotencyKey must have 1 to 120 characters", { field: "idempotencyKey" });
    if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency))
      throw badInput("currency must be a 3-letter code", { field: "currency" });
    const amount = parseAmount(amountText, currency);
    if (amount.greaterThanOrEqualTo(MAX_TOP_UP)) throw badInput(`a top-up is less than ${MAX_TOP_UP}`, { field: "amount" });
    const prior = await this.d.prisma.payment.findUnique({ where: { buyerId_topUpKey: { buyerId, topUpKey } } });
    if (prior) return this.sameTopUp(prior, currency, amount.toString(), channel);

    const app = await this.d.merchants.defaultApp();
    const cfg = await this.d.merchants.channelConfig(app.id, channel);
    if (!cfg || !cfg.enabled) return { code: PaymentCode.CHANNEL_DISABLED, message: `${channel} is not enabled`, payment: null };
    let payment: Payment;
    try {
      payment = await this.d.prisma.payment.create({
        data: {
          purpose: "WALLET_TOP_UP",
          topUpKey,
          buyerId,
          appId: app.id,
          merchantId: app.merchantId,
          channel,
          amount: amount.toString(),
          currency,
          subject: `Wallet top-up ${currency} ${formatAmount(amount, currency)}`,
          checkoutRef: newCheckoutRef(),
          expiresAt: this.expiry(),
        },
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      const again = await this.d.prisma.payment.findUnique({ where: { buyerId_topUpKey: { buyerId, topUpKey } } });
      if (again) return this.sameTopUp(again, currency, amount.toString(), channel);
      throw e;
    }
    const out = await this.checkoutAtProvider(payment, cfg);
    // Only WALLET refuses with a business code, and a wallet is never topped up from itself.
    if (out.code !== "OK" && out.code !== "CHANNEL_ERROR") throw new Error(`a top-up checkout answered ${out.code}`);
    return { ...out, code: out.code };
  }

  /** A repeated top-up key: the same payment, or CONFLICT when the key was used for another top-up. */
  private sameTopUp(p: Payment, currency: string, amount: string, channel: Channel): TopUpOutcome {
    if (p.currency !== currency || !new Decimal(p.amount.toString()).eq(amount) || p.channel !== channel)
      throw new AppError(ErrorCode.CONFLICT, "idempotencyKey was already used for another top-up");
    return { code: PaymentCode.OK, payment: p };
  }

  private expiry(): Date {
    return new Date(Date.now() + this.d.options.timeoutSeconds * 1000);
  }

  /** A provider channel: the checkout at the provider; the payment stays open until paid or timed out. */
  private async checkoutAtProvider(created: Payment, cfg: ChannelConfig): Promise<CreateOutcome> {
    let payment = created;
    const channel = payment.channel as Exclude<Channel, "WALLET">;
    const notifyUrl = `${this.d.options.callbackBaseUrl()}/callbacks/${CALLBACK_PATHS[channel] ?? "none"}`;
    let checkout;
    try {
      checkout = await this.d.adapters[channel].createCheckout(toRecord(payment), cfg, notifyUrl);
    } catch (e) {
      if (!(e instanceof ChannelError)) {
        // Unknown outcome: keep it open; the time-out asks the channel and closes it.
        await this.scheduleClose(payment);
        throw e;
      }
      await this.d.prisma.payment.delete({ where: { id: payment.id } });
      return { code: PaymentCode.CHANNEL_ERROR, message: e.message, payment: null };
    }
    if (checkout.refusal) {
      await this.d.prisma.payment.delete({ where: { id: payment.id } });
      return { code: checkout.refusal, message: `the channel refused: ${checkout.refusal}`, payment: null };
    }
    payment = await this.d.prisma.payment.update({
      where: { id: payment.id },
      data: { clientPayload: JSON.stringify(checkout.payload), providerTradeNo: checkout.providerTradeNo ?? null },
    });
    await this.scheduleClose(payment);
    return { code: PaymentCode.OK, payment };
  }

  /** WALLET: the freeze → capture → book workflow (src/workflows/walletPayment.ts). */
  private async payFromWallet(payment: Payment, cfg: ChannelConfig): Promise<CreateOutcome> {
    // The time-out is the safety net for whatever the workflow leaves open (it asks the wallet first).
    await this.scheduleClose(payment);
    const result = await payFromWallet(
      {
        payment,
        record: toRecord(payment),
        cfg,
        wallet: this.d.wallet,
        markFrozen: async (payload) => {
          await this.d.prisma.payment.update({ where: { id: payment.id }, data: { clientPayload: JSON.stringify(payload) } });
        },
        applyPaid: (n) => this.notifications.applyPaid(payment, n),
        undoFreeze: async () => {
          await this.closing.closePayment(payment.id, { force: true });
        },
      },
      this.d.log,
    );
    if (result.ok) return { code: PaymentCode.OK, payment: await this.reads.get(payment.id) };
    if (result.error instanceof WorkflowAbort) {
      // Refused by the wallet before anything was frozen: nothing is kept.
      await this.d.prisma.payment.delete({ where: { id: payment.id } });
      await this.d.timeoutsQueue.remove(`close-${payment.id}`).catch(() => undefined);
      const refusal = result.error.code;
      if (!isWalletRefusal(refusal)) throw new Error(`the wallet payment aborted with ${refusal}`);
      return { code: refusal, message: `the wallet refused: ${refusal}`, payment: null };
    }
    this.d.log.warn(
      {
        err: result.error,
        paymentId: payment.id,
        step: result.failedStep,
        compensated: result.compensated,
        compensationFailed: result.compensationFailed,
      },
      "wallet payment failed",
    );
    const now = await this.reads.get(payment.id);
    // The compensation may have found the capture done (answer lost): then the payment is paid.
    if (now?.status === "SUCCEEDED") return { code: PaymentCode.OK, payment: now };
    return { code: PaymentCode.CHANNEL_ERROR, message: (result.error as Error)?.message ?? "wallet error", payment: now };
  }

  private async scheduleClose(p: Payment): Promise<void> {
    await this.d.timeoutsQueue.add(
      "close-expired",
      { paymentId: p.id },
      {
        jobId: `close-${p.id}`,
        delay: Math.max(0, p.expiresAt.getTime() - Date.now()),
        attempts: 10,
        backoff: { type: "exponential", delay: 2000 },
      },
    );
  }
}

function newCheckoutRef(): string {
  // Provider-safe merchant trade number: letters and digits, ≤ 32 characters, roughly time-ordered.
  return `MG${Date.now().toString(36).toUpperCase()}${randomBytes(6).toString("hex").toUpperCase()}`;
}
