/**
 * The WALLET channel: the buyer's balance in the member wallet. Checkout freezes the amount
 * (walletFreeze, reference `pay:<paymentId>`); the payment service then captures it
 * (walletCaptureFrozen) and books the merchant side; close releases it (walletUnfreeze); refunds
 * credit the buyer (walletCredit, reference `refund:<refundId>`). No notifications: the wallet is
 * our own, so it never calls back.
 */
import { ChannelError, PaymentCode, SignatureError } from "../errors.ts";
import type { ChannelConfig } from "../generated/prisma/client.ts";
import type { WalletPort } from "../services/ports.ts";
import {
  BaseChannelAdapter,
  type ChannelNotification,
  type CheckoutResult,
  type Envelope,
  type HttpAnswer,
  type PaymentRecord,
  type QueryResult,
  type RefundOutcome,
  type RefundRequest,
} from "./types.ts";

export const walletRef = (paymentId: string) => `pay:${paymentId}`;

export class WalletAdapter extends BaseChannelAdapter<never> {
  readonly channel = "WALLET" as const;
  protected requiredConfig: Array<keyof ChannelConfig> = [];

  constructor(private readonly wallet: WalletPort) {
    super();
  }

  protected async doCheckout(p: PaymentRecord): Promise<CheckoutResult> {
    const r = await this.wallet.op("walletFreeze", p.buyerId, p.currency, p.amount, walletRef(p.id));
    if (r.code === "INSUFFICIENT_BALANCE") return { payload: {}, refusal: PaymentCode.INSUFFICIENT_BALANCE };
    if (r.code === "NO_ACCOUNT") return { payload: {}, refusal: PaymentCode.NO_WALLET_ACCOUNT };
    if (r.code !== "OK") throw new ChannelError(`walletFreeze answered ${r.code}`);
    return { payload: { kind: "WALLET", frozen: p.amount } };
  }

  /** Takes the frozen amount (idempotent per payment). */
  async capture(p: PaymentRecord): Promise<void> {
    const r = await this.wallet.op("walletCaptureFrozen", p.buyerId, p.currency, p.amount, walletRef(p.id));
    if (r.code !== "OK") throw new ChannelError(`walletCaptureFrozen answered ${r.code}`);
  }

  /** Releases the frozen amount (idempotent per payment). */
  async release(p: PaymentRecord): Promise<void> {
    const r = await this.wallet.op("walletUnfreeze", p.buyerId, p.currency, p.amount, walletRef(p.id));
    if (r.code !== "OK") throw new ChannelError(`walletUnfreeze answered ${r.code}`);
  }

  protected parseEnvelope(): Envelope<never> {
    throw new Error("the wallet sends no notifications");
  }
  protected verifySignature(): boolean {
    throw new SignatureError("the wallet sends no notifications");
  }
  protected toNotification(): ChannelNotification {
    throw new SignatureError("the wallet sends no notifications");
  }

  /**
   * Closing asks the wallet what happened, with idempotent calls under the payment's reference:
   * freeze again (refused → nothing was ever frozen), then unfreeze (OK → released); when the
   * frozen amount is gone it was captured (an answer lost on the way): capture again answers OK
   * and the payment is PAID.
   */
  async close(p: PaymentRecord): Promise<QueryResult> {
    const again = await this.wallet.op("walletFreeze", p.buyerId, p.currency, p.amount, walletRef(p.id));
    if (again.code !== "OK") return { status: "CLOSED" };
    const released = await this.wallet.op("walletUnfreeze", p.buyerId, p.currency, p.amount, walletRef(p.id));
    if (released.code === "OK") return { status: "CLOSED" };
    const captured = await this.wallet.op("walletCaptureFrozen", p.buyerId, p.currency, p.amount, walletRef(p.id));
    if (captured.code === "OK") return { status: "PAID", amount: p.amount, currency: p.currency, providerTradeNo: walletRef(p.id) };
    throw new ChannelError(`wallet answered ${released.code} / ${captured.code} for ${walletRef(p.id)}`);
  }

  /** The wallet has no remote trade to query: an open wallet payment is frozen, not paid. */
  protected async doQuery(): Promise<QueryResult> {
    return { status: "WAIT_PAY" };
  }

  protected async doRefund(p: PaymentRecord, refund: RefundRequest): Promise<RefundOutcome> {
    const r = await this.wallet.op("walletCredit", p.buyerId, p.currency, refund.amount, `refund:${refund.id}`);
    return r.code === "OK"
      ? { status: "SUCCEEDED", providerRefundNo: `refund:${refund.id}` }
      : { status: "FAILED", message: `walletCredit answered ${r.code}` };
  }

  ack(): HttpAnswer {
    return { status: 404, contentType: "text/plain", body: "" };
  }
  nack(): HttpAnswer {
    return { status: 404, contentType: "text/plain", body: "" };
  }
}
