/** The SANDBOX channel: the built-in provider (src/sandbox/) behind the same adapter interface. */
import { defined } from "@mallgraph/platform/errors";
import { SignatureError } from "../errors.ts";
import type { ChannelConfig } from "../generated/prisma/client.ts";
import type { SandboxProvider } from "../sandbox/provider.ts";
import { verifyAlipayParams } from "./alipay.ts";
import { parseProviderTime } from "./crypto.ts";
import {
  BaseChannelAdapter,
  type ChannelNotification,
  type CheckoutResult,
  type Envelope,
  type HttpAnswer,
  type PaymentRecord,
  type PayoutNotification,
  type PayoutOutcome,
  type PayoutRequest,
  type QueryResult,
  type RefundOutcome,
  type RefundRequest,
} from "./types.ts";

type Params = Record<string, string>;

export class SandboxAdapter extends BaseChannelAdapter<Params> {
  readonly channel = "SANDBOX" as const;
  protected requiredConfig: Array<keyof ChannelConfig> = [];

  constructor(private readonly provider: SandboxProvider) {
    super();
  }

  protected async doCheckout(p: PaymentRecord, cfg: ChannelConfig, notifyUrl: string): Promise<CheckoutResult> {
    const t = await this.provider.createTrade({
      outTradeNo: p.checkoutRef,
      merchantAppId: cfg.providerAppId || cfg.appId,
      subject: p.subject,
      amount: p.amount,
      currency: p.currency,
      notifyUrl,
    });
    return { payload: { kind: "SANDBOX", checkoutRef: p.checkoutRef, tradeNo: t.tradeNo }, providerTradeNo: t.tradeNo };
  }

  protected parseEnvelope(_h: Record<string, string | string[] | undefined>, body: Buffer): Envelope<Params> {
    const params = Object.fromEntries(new URLSearchParams(body.toString("utf8"))) as Params;
    if (!params.out_trade_no) throw new Error("out_trade_no is required");
    return { hint: { outTradeNo: params.out_trade_no }, data: params };
  }

  protected verifySignature(_h: Record<string, string | string[] | undefined>, _b: Buffer, env: Envelope<Params>): boolean {
    return verifyAlipayParams(env.data, this.provider.publicKeyPem());
  }

  protected toNotification(env: Envelope<Params>): ChannelNotification {
    const p = env.data;
    return {
      notifyId: p.notify_id || `${p.trade_no}:${p.trade_status}`,
      outTradeNo: defined(p.out_trade_no, "out_trade_no (parseEnvelope checked it)"),
      providerTradeNo: p.trade_no,
      amount: p.total_amount ?? "",
      currency: p.currency ?? "",
      paid: p.trade_status === "TRADE_SUCCESS",
      paidAt: parseProviderTime(p.gmt_payment),
    };
  }

  protected async doQuery(p: PaymentRecord): Promise<QueryResult> {
    const q = await this.provider.query(p.checkoutRef);
    if (q.status === "NOT_FOUND") return { status: "NOT_FOUND" };
    return {
      status: q.status === "PAID" ? "PAID" : q.status,
      amount: q.amount,
      currency: q.currency,
      providerTradeNo: q.tradeNo,
      paidAt: q.paidAt,
    };
  }

  protected async doRefund(p: PaymentRecord, refund: RefundRequest): Promise<RefundOutcome> {
    const r = await this.provider.refund(p.checkoutRef, refund.id, refund.amount);
    return r.ok ? { status: "SUCCEEDED", providerRefundNo: r.refundNo } : { status: "FAILED", message: r.message };
  }

  async close(p: PaymentRecord): Promise<QueryResult> {
    const q = await this.provider.close(p.checkoutRef);
    if (q.status === "NOT_FOUND") return { status: "CLOSED" };
    return { status: q.status, amount: q.amount, currency: q.currency, providerTradeNo: q.tradeNo, paidAt: q.paidAt };
  }

  /** The sandbox's payout API: accepted as PROCESSING; finished (sandboxCompletePayout) and notified signed. */
  async payout(r: PayoutRequest, cfg: ChannelConfig, notifyUrl: string): Promise<PayoutOutcome> {
    const res = await this.provider.createPayout({
      outPayoutNo: r.id,
      merchantAppId: cfg.providerAppId || cfg.appId,
      payee: r.payee,
      amount: r.amount,
      currency: r.currency,
      notifyUrl,
    });
    if (!res.ok) return { status: "FAILED", message: res.message };
    const p = defined(res.payout, "the payout of an accepted sandbox answer");
    return {
      status: p.status === "SUCCESS" ? "SUCCEEDED" : p.status === "FAIL" ? "FAILED" : "PROCESSING",
      providerPayoutNo: p.payoutNo,
      message: p.failReason ?? undefined,
    };
  }

  async verifyPayoutNotification(_h: Record<string, string | string[] | undefined>, body: Buffer): Promise<PayoutNotification> {
    const p = Object.fromEntries(new URLSearchParams(body.toString("utf8"))) as Params;
    if (!p.out_payout_no || p.notify_type !== "payout_status_sync")
      throw new SignatureError("malformed notification: not a payout notification");
    if (!verifyAlipayParams(p, this.provider.publicKeyPem())) throw new SignatureError("signature does not verify");
    return {
      notifyId: p.notify_id || `${p.payout_no}:${p.payout_status}`,
      outPayoutNo: p.out_payout_no,
      providerPayoutNo: p.payout_no,
      amount: p.amount ?? "",
      currency: p.currency ?? "",
      status: p.payout_status === "SUCCESS" ? "SUCCEEDED" : p.payout_status === "FAIL" ? "FAILED" : "PROCESSING",
      failure: p.fail_reason,
    };
  }

  ack(): HttpAnswer {
    return { status: 200, contentType: "text/plain", body: "success" };
  }
  nack(): HttpAnswer {
    return { status: 200, contentType: "text/plain", body: "fail" };
  }
}
