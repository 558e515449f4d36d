/**
 * Creating (or reusing) a payment for an order on a channel: the checkout at the provider, or the
 * WALLET freeze → capture → book workflow; a wallet top-up (a payment without an order) on a provider
 * channel; every open payment gets its close job (the time-out).
 */
import { randomBytes } from "node:crypto";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { AppError, ErrorCode, badInput, forbidden, notFound } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { WorkflowAbort, WorkflowFailed, type WorkflowDefinition } from "@mallgraph/platform/workflow";
import type { Channel } from "../channels/types.ts";
import { PaymentCode, isWalletRefusal, type CreateCode, type TopUpCode } from "../errors.ts";
import type { ChannelConfig, Payment } from "../generated/prisma/client.ts";
import { checkoutRunId, providerCheckoutWorkflow, type CheckoutState } from "../workflows/providerCheckout.ts";
import { walletPaymentRunId, walletPaymentWorkflow, type WalletPaymentState } from "../workflows/walletPayment.ts";
import type { PaymentClosing } from "./closing.ts";
import type { PaymentNotifications } from "./notifications.ts";
import type { PaymentReads } from "./read.ts";
import { CHANNELS, ORDER_PAID_STATES, PAID_STATES, type PaymentDeps, type Tx } from "./shared.ts";

type CreateOutcome = { code: CreateCode; message?: string; payment: Payment | null };
type TopUpOutcome = { code: TopUpCode; message?: string; payment: Payment | null };

/** createOnce's answer when the order's open payment it collided with is no longer open. */
const LOST_RACE = Symbol("lost race");

/** The largest top-up (exclusive). */
const MAX_TOP_UP = "1000000";

export class PaymentCheckout {
  private readonly walletPayment: WorkflowDefinition<WalletPaymentState, Tx>;
  private readonly providerCheckout: WorkflowDefinition<CheckoutState, Tx>;

  constructor(
    private readonly d: PaymentDeps,
    private readonly reads: PaymentReads,
    private readonly closing: PaymentClosing,
    notifications: PaymentNotifications,
  ) {
    const deps = { reads, merchants: d.merchants, wallet: d.wallet, closing, notifications, log: d.log };
    this.walletPayment = d.workflows.register(walletPaymentWorkflow(deps));
    this.providerCheckout = d.workflows.register(
      providerCheckoutWorkflow({ ...deps, adapters: d.adapters, callbackBaseUrl: d.options.callbackBaseUrl }),
    );
  }

  async createPayment(buyerId: string, orderId: string, channel: Channel): Promise<CreateOutcome> {
    if (!CHANNELS.includes(channel)) throw badInput(`unknown channel ${channel}`, { field: "channel" });
    if (channel === "SANDBOX" && !this.d.options.sandboxEnabled)
      return { code: PaymentCode.CHANNEL_DISABLED, message: "the SANDBOX channel is off (SANDBOX_ENABLED)", payment: null };
    for (let attempt = 1; ; attempt++) {
      const out = await this.createOnce(buyerId, orderId, channel);
      if (out !== LOST_RACE) return out;
      // Another request's payment held the order's one open slot and has left PENDING since
      // (a wallet payment can succeed within milliseconds): look again from the start, which
      // now finds it paid (ALREADY_PAID) or the slot free.
      if (attempt >= 3) throw new AppError(ErrorCode.CONFLICT, "the order's payment is changing: try again");
    }
  }

  private async createOnce(buyerId: string, orderId: string, channel: Channel): Promise<CreateOutcome | typeof LOST_RACE> {
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
      return LOST_RACE;
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

  /**
   * A provider channel: the provider checkout workflow (src/workflows/providerCheckout.ts); the
   * payment stays open until paid or timed out. A refusal or channel error deletes it.
   */
  private async checkoutAtProvider(created: Payment, cfg: ChannelConfig): Promise<CreateOutcome> {
    const state: CheckoutState = { paymentId: created.id, payment: created, cfg };
    try {
      await this.d.workflows.run(this.providerCheckout, checkoutRunId(created.id), state, { hooks: this.d.hooks?.workflow });
    } catch (e) {
      if (e instanceof WorkflowAbort) {
        await this.d.prisma.payment.delete({ where: { id: created.id } });
        return { code: e.code as CreateCode, message: e.details.message as string, payment: null };
      }
      // an unknown outcome: the workflow closed the payment (asking the provider first)
      throw e instanceof WorkflowFailed ? e.cause : e;
    }
    const payment = state.recorded ?? created;
    await this.scheduleClose(payment);
    return { code: PaymentCode.OK, payment };
  }

  /** WALLET: the durable freeze → capture → book workflow (src/workflows/walletPayment.ts). */
  private async payFromWallet(payment: Payment, cfg: ChannelConfig): Promise<CreateOutcome> {
    // The time-out is the safety net for whatever the workflow leaves open (it asks the wallet first).
    await this.scheduleClose(payment);
    try {
      await this.d.workflows.run(
        this.walletPayment,
        walletPaymentRunId(payment.id),
        { paymentId: payment.id, payment, cfg },
        { hooks: this.d.hooks?.workflow },
      );
      return { code: PaymentCode.OK, payment: await this.reads.get(payment.id) };
    } catch (e) {
      if (e instanceof WorkflowAbort) {
        // Refused by the wallet before anything was frozen: nothing is kept.
        await this.d.prisma.payment.delete({ where: { id: payment.id } });
        await this.d.timeoutsQueue.remove(`close-${payment.id}`).catch(() => undefined);
        if (!isWalletRefusal(e.code)) throw new Error(`the wallet payment aborted with ${e.code}`, { cause: e });
        return { code: e.code, message: `the wallet refused: ${e.code}`, payment: null };
      }
      if (!(e instanceof WorkflowFailed)) throw e;
      this.d.log.warn(
        { err: e.cause, paymentId: payment.id, compensated: e.report.compensated, compensationFailures: e.report.compensationFailures },
        "wallet payment failed",
      );
      const now = await this.reads.get(payment.id);
      // The compensation may have found the capture done (answer lost): then the payment is paid.
      if (now?.status === "SUCCEEDED") return { code: PaymentCode.OK, payment: now };
      return { code: PaymentCode.CHANNEL_ERROR, message: (e.cause as Error)?.message ?? "wallet error", payment: now };
    }
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
