/**
 * Alipay (OpenAPI v1 gateway): alipay.trade.page.pay / alipay.trade.app.pay requests signed with
 * RSA2 (SHA256withRSA over the sorted `k=v&…` parameters, base64); asynchronous notifications
 * verified with Alipay's public key (RSA2 over the sorted parameters without sign and sign_type);
 * trade query / refund / close through the injectable transport.
 */
import { defined } from "@mallgraph/platform/errors";
import { ChannelError } from "../errors.ts";
import type { ChannelConfig } from "../generated/prisma/client.ts";
import { alipaySignContent, chinaTimestamp, parseProviderTime, rawJsonValue, rsaSha256Sign, rsaSha256Verify } from "./crypto.ts";
import {
  BaseChannelAdapter,
  type ChannelNotification,
  type CheckoutResult,
  type Envelope,
  type PaymentRecord,
  type QueryResult,
  type RefundOutcome,
  type RefundRequest,
  type HttpAnswer,
} from "./types.ts";

export const ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do";

type Params = Record<string, string>;
/** A gateway method's `<method>_response` object: the fields read are strings (code, sub_code, trade_no, …). */
type AlipayAnswer = Partial<Record<string, string>>;

/** Signs a request: common parameters + biz_content, `sign` added. */
export function signAlipayRequest(
  cfg: { providerAppId: string; privateKeyPem: string },
  method: string,
  biz: Record<string, unknown>,
  extra: Params = {},
  now = new Date(),
): Params {
  const params: Params = {
    app_id: cfg.providerAppId,
    method,
    format: "JSON",
    charset: "utf-8",
    sign_type: "RSA2",
    timestamp: chinaTimestamp(now),
    version: "1.0",
    ...extra,
    biz_content: JSON.stringify(biz),
  };
  params.sign = rsaSha256Sign(alipaySignContent(params), cfg.privateKeyPem);
  return params;
}

/** Verifies the parameters of an asynchronous notification (sign and sign_type excluded). */
export function verifyAlipayParams(params: Params, alipayPublicKey: string): boolean {
  if (!params.sign) return false;
  if (params.sign_type && params.sign_type !== "RSA2") return false;
  return rsaSha256Verify(alipaySignContent(params, ["sign", "sign_type"]), params.sign, alipayPublicKey);
}

function form(params: Params): string {
  return new URLSearchParams(params).toString();
}

const STATUS: Record<string, QueryResult["status"]> = {
  WAIT_BUYER_PAY: "WAIT_PAY",
  TRADE_CLOSED: "CLOSED",
  TRADE_SUCCESS: "PAID",
  TRADE_FINISHED: "PAID",
};

export class AlipayAdapter extends BaseChannelAdapter<Params> {
  readonly channel = "ALIPAY" as const;
  protected requiredConfig: Array<keyof ChannelConfig> = ["providerAppId", "privateKeyPem", "providerPublicKey"];

  private signer(cfg: ChannelConfig) {
    return { providerAppId: this.credential(cfg, "providerAppId"), privateKeyPem: this.credential(cfg, "privateKeyPem") };
  }

  private gateway(cfg: ChannelConfig): string {
    return cfg.gatewayUrl || ALIPAY_GATEWAY;
  }

  protected async doCheckout(p: PaymentRecord, cfg: ChannelConfig, notifyUrl: string): Promise<CheckoutResult> {
    if (p.currency !== "CNY") throw new ChannelError(`Alipay accepts CNY only, not ${p.currency}`);
    const app = cfg.tradeType === "APP";
    const biz = {
      out_trade_no: p.checkoutRef,
      total_amount: p.amount,
      subject: p.subject,
      product_code: app ? "QUICK_MSECURITY_PAY" : "FAST_INSTANT_TRADE_PAY",
      time_expire: chinaTimestamp(p.expiresAt),
    };
    const params = signAlipayRequest(this.signer(cfg), app ? "alipay.trade.app.pay" : "alipay.trade.page.pay", biz, {
      notify_url: notifyUrl,
    });
    // Both are executed by the buyer's browser / the Alipay app, not by us: the client gets the signed request.
    if (app) return { payload: { kind: "ORDER_STRING", orderString: form(params) } };
    return { payload: { kind: "REDIRECT", method: "GET", url: `${this.gateway(cfg)}?${form(params)}` } };
  }

  protected parseEnvelope(_h: Record<string, string | string[] | undefined>, body: Buffer): Envelope<Params> {
    const params = Object.fromEntries(new URLSearchParams(body.toString("utf8"))) as Params;
    if (!params.out_trade_no || !params.app_id) throw new Error("out_trade_no and app_id are required");
    return { hint: { providerAppId: params.app_id, outTradeNo: params.out_trade_no }, data: params };
  }

  protected verifySignature(
    _h: Record<string, string | string[] | undefined>,
    _b: Buffer,
    env: Envelope<Params>,
    cfg: ChannelConfig,
  ): boolean {
    return verifyAlipayParams(env.data, this.credential(cfg, "providerPublicKey"));
  }

  protected toNotification(env: Envelope<Params>): ChannelNotification {
    const p = env.data;
    return {
      notifyId: p.notify_id || `${p.trade_no}:${p.trade_status}`,
      outTradeNo: defined(p.out_trade_no, "out_trade_no (parseEnvelope checked it)"),
      providerTradeNo: p.trade_no,
      amount: p.total_amount ?? "",
      currency: "CNY",
      paid: p.trade_status === "TRADE_SUCCESS" || p.trade_status === "TRADE_FINISHED",
      paidAt: parseProviderTime(p.gmt_payment),
    };
  }

  /** Calls a gateway method and returns its verified `<method>_response` object. */
  async call(cfg: ChannelConfig, method: string, biz: Record<string, unknown>): Promise<AlipayAnswer> {
    const params = signAlipayRequest(this.signer(cfg), method, biz);
    const res = await this.transport({
      method: "POST",
      url: this.gateway(cfg),
      headers: { "content-type": "application/x-www-form-urlencoded;charset=utf-8" },
      body: form(params),
    });
    const key = `${method.replace(/\./g, "_")}_response`;
    const raw = rawJsonValue(res.body, key);
    if (!raw) throw new ChannelError(`Alipay answered ${res.status} without ${key}`);
    let parsed: { sign?: string };
    try {
      parsed = JSON.parse(res.body);
    } catch {
      throw new ChannelError("Alipay answered malformed JSON");
    }
    const node = JSON.parse(raw) as AlipayAnswer;
    // Error answers may come unsigned; success answers must verify.
    if (node.code === "10000" && (!parsed.sign || !rsaSha256Verify(raw, parsed.sign, this.credential(cfg, "providerPublicKey"))))
      throw new ChannelError("Alipay response signature does not verify");
    return node;
  }

  protected async doQuery(p: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult> {
    const r = await this.call(cfg, "alipay.trade.query", { out_trade_no: p.checkoutRef });
    if (r.code !== "10000") {
      if (r.sub_code === "ACQ.TRADE_NOT_EXIST") return { status: "NOT_FOUND" };
      throw new ChannelError(`alipay.trade.query: ${r.sub_msg ?? r.msg}`, r.sub_code);
    }
    return {
      status: STATUS[r.trade_status ?? ""] ?? "WAIT_PAY",
      amount: r.total_amount,
      currency: "CNY",
      providerTradeNo: r.trade_no,
      paidAt: parseProviderTime(r.send_pay_date),
    };
  }

  protected async doRefund(p: PaymentRecord, refund: RefundRequest, cfg: ChannelConfig): Promise<RefundOutcome> {
    const r = await this.call(cfg, "alipay.trade.refund", {
      out_trade_no: p.checkoutRef,
      refund_amount: refund.amount,
      out_request_no: refund.id,
      refund_reason: refund.reason,
    });
    if (r.code !== "10000") return { status: "FAILED", message: r.sub_msg ?? r.msg };
    return { status: "SUCCEEDED", providerRefundNo: `${r.trade_no ?? ""}:${refund.id}` };
  }

  async close(p: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult> {
    const q = await this.queryPayment(p, cfg);
    if (q.status !== "WAIT_PAY") return q.status === "NOT_FOUND" ? { status: "CLOSED" } : q;
    const r = await this.call(cfg, "alipay.trade.close", { out_trade_no: p.checkoutRef });
    if (r.code === "10000" || r.sub_code === "ACQ.TRADE_NOT_EXIST") return { status: "CLOSED" };
    return this.queryPayment(p, cfg); // e.g. paid in the meantime
  }

  ack(): HttpAnswer {
    return { status: 200, contentType: "text/plain", body: "success" };
  }
  nack(): HttpAnswer {
    return { status: 200, contentType: "text/plain", body: "fail" };
  }
}
