/**
 * WeChat Pay APIv3: requests signed in the `Authorization: WECHATPAY2-SHA256-RSA2048 …` header
 * (SHA256-RSA over `METHOD\nURL\ntimestamp\nnonce\nbody\n`), notifications and responses verified
 * against the platform public key (`timestamp\nnonce\nbody\n`), notification resources decrypted
 * with AEAD_AES_256_GCM under the APIv3 key.
 */
import { formatAmount, Decimal, currencyDecimals } from "@mallgraph/platform/money";
import { ChannelError, SignatureError } from "../errors.ts";
import type { ChannelConfig } from "../generated/prisma/client.ts";
import { aesGcmDecrypt, nonceStr, rsaSha256Sign, rsaSha256Verify } from "./crypto.ts";
import {
  BaseChannelAdapter,
  header,
  type ChannelNotification,
  type CheckoutResult,
  type Envelope,
  type HttpAnswer,
  type HttpResponse,
  type PaymentRecord,
  type QueryResult,
  type RefundOutcome,
  type RefundRequest,
} from "./types.ts";

export const WECHAT_GATEWAY = "https://api.mch.weixin.qq.com";
/** Notifications and responses older (or newer) than this are refused (replay protection). */
export const MAX_SKEW_SECONDS = 300;

export interface WechatSigner {
  merchantNo: string;
  certSerial: string;
  privateKeyPem: string;
}

/** The Authorization header of one APIv3 request. `url` is the path with its query string. */
export function wechatAuthorization(
  s: WechatSigner,
  method: string,
  url: string,
  body: string,
  timestamp = Math.floor(Date.now() / 1000),
  nonce = nonceStr(),
): string {
  const message = `${method}\n${url}\n${timestamp}\n${nonce}\n${body}\n`;
  const signature = rsaSha256Sign(message, s.privateKeyPem);
  return `WECHATPAY2-SHA256-RSA2048 mchid="${s.merchantNo}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${s.certSerial}"`;
}

/** Parses an Authorization header back into its fields (the fake provider in tests uses it). */
export function parseWechatAuthorization(value: string): Record<string, string> | null {
  const m = /^WECHATPAY2-SHA256-RSA2048 (.*)$/.exec(value);
  if (!m) return null;
  const out: Record<string, string> = {};
  for (const [, key = "", value = ""] of (m[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)) out[key] = value;
  return out;
}

/** Verifies a notification or response signature: `timestamp\nnonce\nbody\n` with the platform key. */
export function verifyWechatSignature(
  headers: Record<string, string | string[] | undefined>,
  body: string,
  platformPublicKey: string,
  now = Date.now(),
): boolean {
  const ts = header(headers, "wechatpay-timestamp");
  const nonce = header(headers, "wechatpay-nonce");
  const sig = header(headers, "wechatpay-signature");
  if (!ts || !nonce || !sig) return false;
  if (Math.abs(now / 1000 - Number(ts)) > MAX_SKEW_SECONDS) return false;
  return rsaSha256Verify(`${ts}\n${nonce}\n${body}\n`, sig, platformPublicKey);
}

/** The parameters a JSAPI / mini-program client passes to WeixinJSBridge (paySign with the merchant key). */
export function jsapiPayParams(
  appId: string,
  prepayId: string,
  privateKeyPem: string,
  timeStamp = String(Math.floor(Date.now() / 1000)),
  nonce = nonceStr(),
) {
  const pkg = `prepay_id=${prepayId}`;
  return {
    appId,
    timeStamp,
    nonceStr: nonce,
    package: pkg,
    signType: "RSA",
    paySign: rsaSha256Sign(`${appId}\n${timeStamp}\n${nonce}\n${pkg}\n`, privateKeyPem),
  };
}

export function toMinor(amount: string, currency: string): number {
  return new Decimal(amount).mul(new Decimal(10).pow(currencyDecimals(currency))).toNumber();
}
export function fromMinor(total: number, currency: string): string {
  return formatAmount(new Decimal(total).div(new Decimal(10).pow(currencyDecimals(currency))), currency);
}

/** The fields of WeChat Pay v3 answers and decrypted notifications this adapter reads (absent on errors). */
interface WechatAnswer {
  code?: string;
  message?: string;
  prepay_id?: string;
  code_url?: string;
  mchid?: string;
  out_trade_no?: string;
  transaction_id?: string;
  trade_state?: string;
  success_time?: string;
  amount?: { total?: number; currency?: string };
  status?: string;
  refund_id?: string;
}

interface WechatNotification {
  id: string;
  event_type: string;
  resource: { algorithm: string; ciphertext: string; associated_data?: string; nonce: string };
}

const STATE: Record<string, QueryResult["status"]> = {
  SUCCESS: "PAID",
  REFUND: "PAID",
  NOTPAY: "WAIT_PAY",
  USERPAYING: "WAIT_PAY",
  CLOSED: "CLOSED",
  REVOKED: "CLOSED",
  PAYERROR: "CLOSED",
};

export class WechatPayAdapter extends BaseChannelAdapter<WechatNotification> {
  readonly channel = "WECHAT_PAY" as const;
  protected requiredConfig: Array<keyof ChannelConfig> = [
    "providerAppId",
    "merchantNo",
    "certSerial",
    "privateKeyPem",
    "providerPublicKey",
    "apiV3Key",
  ];

  private async request(
    cfg: ChannelConfig,
    method: "GET" | "POST",
    path: string,
    payload?: unknown,
  ): Promise<{ res: HttpResponse; json: WechatAnswer }> {
    const body = payload === undefined ? "" : JSON.stringify(payload);
    const res = await this.transport({
      method,
      url: `${cfg.gatewayUrl || WECHAT_GATEWAY}${path}`,
      headers: {
        authorization: wechatAuthorization(
          {
            merchantNo: this.credential(cfg, "merchantNo"),
            certSerial: this.credential(cfg, "certSerial"),
            privateKeyPem: this.credential(cfg, "privateKeyPem"),
          },
          method,
          path,
          body,
        ),
        accept: "application/json",
        ...(payload === undefined ? {} : { "content-type": "application/json" }),
      },
      body: payload === undefined ? undefined : body,
    });
    if (res.status >= 200 && res.status < 300 && !verifyWechatSignature(res.headers, res.body, this.credential(cfg, "providerPublicKey"))) {
      throw new ChannelError("WeChat Pay response signature does not verify");
    }
    let json: WechatAnswer = {};
    if (res.body) {
      try {
        json = JSON.parse(res.body);
      } catch {
        throw new ChannelError("WeChat Pay answered malformed JSON");
      }
    }
    return { res, json };
  }

  protected async doCheckout(p: PaymentRecord, cfg: ChannelConfig, notifyUrl: string): Promise<CheckoutResult> {
    const jsapi = cfg.tradeType === "JSAPI";
    const body: Record<string, unknown> = {
      appid: cfg.providerAppId,
      mchid: cfg.merchantNo,
      description: p.subject.slice(0, 127),
      out_trade_no: p.checkoutRef,
      time_expire: new Date(p.expiresAt.getTime() + 8 * 3600_000).toISOString().replace(/\.\d{3}Z$/, "+08:00"),
      notify_url: notifyUrl,
      amount: { total: toMinor(p.amount, p.currency), currency: p.currency },
    };
    // JSAPI needs the payer's openid; member ids stand in until members carry their WeChat openid.
    if (jsapi) body.payer = { openid: p.buyerId };
    const { res, json } = await this.request(cfg, "POST", `/v3/pay/transactions/${jsapi ? "jsapi" : "native"}`, body);
    if (res.status !== 200) throw new ChannelError(`WeChat Pay refused: ${json.code ?? res.status} ${json.message ?? ""}`, json.code);
    if (jsapi)
      return {
        payload: {
          kind: "JSAPI",
          ...jsapiPayParams(this.credential(cfg, "providerAppId"), json.prepay_id ?? "", this.credential(cfg, "privateKeyPem")),
        },
      };
    return { payload: { kind: "QR_CODE", codeUrl: json.code_url } };
  }

  protected parseEnvelope(headers: Record<string, string | string[] | undefined>, body: Buffer): Envelope<WechatNotification> {
    const data = JSON.parse(body.toString("utf8")) as WechatNotification;
    if (!data.id || !data.resource?.ciphertext) throw new Error("id and resource are required");
    return { hint: { platformSerial: header(headers, "wechatpay-serial") }, data };
  }

  protected verifySignature(
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
    _env: Envelope<WechatNotification>,
    cfg: ChannelConfig,
  ): boolean {
    return verifyWechatSignature(headers, body.toString("utf8"), this.credential(cfg, "providerPublicKey"));
  }

  protected toNotification(env: Envelope<WechatNotification>, cfg: ChannelConfig): ChannelNotification {
    const r = env.data.resource;
    if (r.algorithm !== "AEAD_AES_256_GCM") throw new SignatureError(`unsupported algorithm ${r.algorithm}`);
    let tx: WechatAnswer;
    try {
      tx = JSON.parse(aesGcmDecrypt(this.credential(cfg, "apiV3Key"), r.nonce, r.associated_data ?? "", r.ciphertext));
    } catch (e) {
      throw new SignatureError(`resource does not decrypt: ${(e as Error).message}`);
    }
    if (tx.mchid !== cfg.merchantNo) throw new SignatureError("notification is for another merchant");
    const currency = tx.amount?.currency ?? "CNY";
    return {
      notifyId: env.data.id,
      outTradeNo: tx.out_trade_no ?? "",
      providerTradeNo: tx.transaction_id,
      amount: typeof tx.amount?.total === "number" ? fromMinor(tx.amount.total, currency) : "",
      currency,
      paid: env.data.event_type === "TRANSACTION.SUCCESS" && tx.trade_state === "SUCCESS",
      paidAt: tx.success_time ? new Date(tx.success_time) : undefined,
    };
  }

  protected async doQuery(p: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult> {
    const { res, json } = await this.request(
      cfg,
      "GET",
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(p.checkoutRef)}?mchid=${encodeURIComponent(this.credential(cfg, "merchantNo"))}`,
    );
    if (res.status === 404 || json.code === "ORDER_NOT_EXIST") return { status: "NOT_FOUND" };
    if (res.status !== 200) throw new ChannelError(`WeChat Pay query: ${json.code ?? res.status}`, json.code);
    const currency = json.amount?.currency ?? p.currency;
    return {
      status: STATE[json.trade_state ?? ""] ?? "WAIT_PAY",
      amount: typeof json.amount?.total === "number" ? fromMinor(json.amount.total, currency) : undefined,
      currency,
      providerTradeNo: json.transaction_id,
      paidAt: json.success_time ? new Date(json.success_time) : undefined,
    };
  }

  protected async doRefund(p: PaymentRecord, refund: RefundRequest, cfg: ChannelConfig): Promise<RefundOutcome> {
    const { res, json } = await this.request(cfg, "POST", "/v3/refund/domestic/refunds", {
      out_trade_no: p.checkoutRef,
      out_refund_no: refund.id,
      reason: refund.reason.slice(0, 80),
      amount: { refund: toMinor(refund.amount, p.currency), total: toMinor(p.amount, p.currency), currency: p.currency },
    });
    if (res.status !== 200) return { status: "FAILED", message: `${json.code ?? res.status} ${json.message ?? ""}` };
    const status = json.status === "SUCCESS" ? "SUCCEEDED" : json.status === "PROCESSING" ? "PENDING" : "FAILED";
    return { status, providerRefundNo: json.refund_id };
  }

  async queryRefund(_p: PaymentRecord, refundId: string, cfg: ChannelConfig): Promise<RefundOutcome> {
    this.assertConfigured(cfg);
    const { res, json } = await this.request(cfg, "GET", `/v3/refund/domestic/refunds/${encodeURIComponent(refundId)}`);
    if (res.status === 404) return { status: "FAILED", message: "refund not found at WeChat Pay" };
    if (res.status !== 200) throw new ChannelError(`WeChat Pay refund query: ${json.code ?? res.status}`, json.code);
    const status = json.status === "SUCCESS" ? "SUCCEEDED" : json.status === "PROCESSING" ? "PENDING" : "FAILED";
    return { status, providerRefundNo: json.refund_id, message: status === "FAILED" ? `refund ${json.status}` : undefined };
  }

  async close(p: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult> {
    const q = await this.queryPayment(p, cfg);
    if (q.status === "NOT_FOUND") return { status: "CLOSED" };
    if (q.status !== "WAIT_PAY") return q;
    const { res } = await this.request(cfg, "POST", `/v3/pay/transactions/out-trade-no/${encodeURIComponent(p.checkoutRef)}/close`, {
      mchid: cfg.merchantNo,
    });
    if (res.status === 204 || res.status === 200) return { status: "CLOSED" };
    return this.queryPayment(p, cfg);
  }

  ack(): HttpAnswer {
    return { status: 200, contentType: "application/json", body: JSON.stringify({ code: "SUCCESS", message: "成功" }) };
  }
  nack(message: string): HttpAnswer {
    return { status: 400, contentType: "application/json", body: JSON.stringify({ code: "FAIL", message }) };
  }
}
