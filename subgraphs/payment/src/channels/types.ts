/**
 * The channel strategy: every payment channel (SANDBOX, WALLET, ALIPAY, WECHAT_PAY) implements
 * PaymentChannelAdapter; BaseChannelAdapter is the template of the common flow (configuration
 * check → build/sign the provider request → send it through the injectable transport → client
 * payload; envelope → credentials lookup → signature check → normalised notification).
 */
import { ChannelError, SignatureError, type WalletRefusal } from "../errors.ts";
import type { ChannelConfig } from "../generated/prisma/client.ts";

export type Channel = "SANDBOX" | "WALLET" | "ALIPAY" | "WECHAT_PAY";

/** What an adapter needs to know of a payment. */
export interface PaymentRecord {
  id: string;
  checkoutRef: string;
  buyerId: string;
  orderNo: string;
  subject: string;
  amount: string;
  currency: string;
  expiresAt: Date;
  providerTradeNo?: string | null;
}

export interface CheckoutResult {
  /** What the client needs for this channel (serialised as JSON for the API). */
  payload: Record<string, unknown>;
  providerTradeNo?: string;
  /** The channel took the money at once (wallet capture). */
  paid?: boolean;
  /** A business refusal of the channel (INSUFFICIENT_BALANCE, …); nothing was taken. */
  refusal?: WalletRefusal;
}

export interface ChannelNotification {
  /** Unique id of this notification at the provider (idempotency key). */
  notifyId: string;
  outTradeNo: string;
  providerTradeNo?: string;
  amount: string;
  currency: string;
  /** The notification reports a successful payment. */
  paid: boolean;
  paidAt?: Date;
}

export type RemoteStatus = "PAID" | "WAIT_PAY" | "CLOSED" | "NOT_FOUND";

export interface QueryResult {
  status: RemoteStatus;
  amount?: string;
  currency?: string;
  providerTradeNo?: string;
  paidAt?: Date;
}

export interface RefundRequest {
  id: string;
  amount: string;
  reason: string;
}

export interface RefundOutcome {
  status: "SUCCEEDED" | "PENDING" | "FAILED";
  providerRefundNo?: string;
  message?: string;
}

/** A payout asked of a channel: `id` is the merchant's payout number (out_payout_no). */
export interface PayoutRequest {
  id: string;
  /** The payee at the provider (the sandbox: the member's id). */
  payee: string;
  amount: string;
  currency: string;
}

export interface PayoutOutcome {
  /** PROCESSING: accepted, the provider calls back when it is done. */
  status: "PROCESSING" | "SUCCEEDED" | "FAILED";
  providerPayoutNo?: string;
  message?: string;
}

/** A verified payout notification. */
export interface PayoutNotification {
  notifyId: string;
  outPayoutNo: string;
  providerPayoutNo?: string;
  amount: string;
  currency: string;
  status: "PROCESSING" | "SUCCEEDED" | "FAILED";
  failure?: string;
}

/** How an adapter finds the credentials a notification was signed for. */
export interface ConfigHint {
  providerAppId?: string;
  platformSerial?: string;
  outTradeNo?: string;
}
export type ConfigLookup = (hint: ConfigHint) => Promise<ChannelConfig | null>;

/** What the callback route answers the provider. */
export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface PaymentChannelAdapter {
  readonly channel: Channel;
  createCheckout(payment: PaymentRecord, cfg: ChannelConfig, notifyUrl: string): Promise<CheckoutResult>;
  /** Verifies and parses a provider notification; throws SignatureError when it does not verify. */
  verifyNotification(
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
    lookup: ConfigLookup,
  ): Promise<ChannelNotification>;
  queryPayment(payment: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult>;
  refund(payment: PaymentRecord, refund: RefundRequest, cfg: ChannelConfig): Promise<RefundOutcome>;
  /** The state of a refund the provider answered as still processing (channels with asynchronous refunds). */
  queryRefund?(payment: PaymentRecord, refundId: string, cfg: ChannelConfig): Promise<RefundOutcome>;
  /** Closes the trade at the provider when an unpaid payment closes (answers the final remote status). */
  close(payment: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult>;
  /** Pays money out to a payee (channels with a payout API; decision 0026). */
  payout?(request: PayoutRequest, cfg: ChannelConfig, notifyUrl: string): Promise<PayoutOutcome>;
  /** Verifies and parses a payout notification; throws SignatureError when it does not verify. */
  verifyPayoutNotification?(headers: Record<string, string | string[] | undefined>, body: Buffer): Promise<PayoutNotification>;
  ack(): HttpAnswer;
  nack(message: string): HttpAnswer;
}

// ------------------------------------------------------------------ transport

export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string;
}
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}
/** The adapters' only way to reach a provider: injectable, so tests use a local fake provider. */
export type HttpTransport = (req: HttpRequest) => Promise<HttpResponse>;

export const fetchTransport: HttpTransport = async (req) => {
  let res: Response;
  try {
    res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw new ChannelError(`provider unreachable: ${(e as Error).message}`);
  }
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
  return { status: res.status, headers, body: await res.text() };
};

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

// ------------------------------------------------------------------ template

export interface Envelope<T> {
  hint: ConfigHint;
  data: T;
}

export abstract class BaseChannelAdapter<E = unknown> implements PaymentChannelAdapter {
  abstract readonly channel: Channel;
  constructor(protected readonly transport: HttpTransport = fetchTransport) {}

  /** Credentials this channel cannot work without. */
  protected abstract requiredConfig: Array<keyof ChannelConfig>;

  /** One credential of requiredConfig (assertConfigured checked them all; absent here is the same refusal). */
  protected credential(
    cfg: ChannelConfig,
    key: "providerAppId" | "merchantNo" | "certSerial" | "privateKeyPem" | "providerPublicKey" | "apiV3Key",
  ): string {
    const value = cfg[key];
    if (!value) throw new ChannelError(`${this.channel} channel is missing ${key}`);
    return value;
  }

  protected assertConfigured(cfg: ChannelConfig): void {
    const missing = this.requiredConfig.filter((k) => !cfg[k]);
    if (missing.length) throw new ChannelError(`${this.channel} channel is missing ${missing.join(", ")}`);
  }

  async createCheckout(payment: PaymentRecord, cfg: ChannelConfig, notifyUrl: string): Promise<CheckoutResult> {
    this.assertConfigured(cfg);
    return this.doCheckout(payment, cfg, notifyUrl);
  }
  protected abstract doCheckout(payment: PaymentRecord, cfg: ChannelConfig, notifyUrl: string): Promise<CheckoutResult>;

  async verifyNotification(
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
    lookup: ConfigLookup,
  ): Promise<ChannelNotification> {
    let envelope: Envelope<E>;
    try {
      envelope = this.parseEnvelope(headers, body);
    } catch (e) {
      throw new SignatureError(`malformed notification: ${(e as Error).message}`);
    }
    const cfg = await lookup(envelope.hint);
    if (!cfg) throw new SignatureError("no channel configuration for this notification");
    this.assertConfigured(cfg);
    if (!this.verifySignature(headers, body, envelope, cfg)) throw new SignatureError("signature does not verify");
    return this.toNotification(envelope, cfg);
  }
  protected abstract parseEnvelope(headers: Record<string, string | string[] | undefined>, body: Buffer): Envelope<E>;
  protected abstract verifySignature(
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
    envelope: Envelope<E>,
    cfg: ChannelConfig,
  ): boolean;
  protected abstract toNotification(envelope: Envelope<E>, cfg: ChannelConfig): ChannelNotification;

  async queryPayment(payment: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult> {
    this.assertConfigured(cfg);
    return this.doQuery(payment, cfg);
  }
  protected abstract doQuery(payment: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult>;

  async refund(payment: PaymentRecord, refund: RefundRequest, cfg: ChannelConfig): Promise<RefundOutcome> {
    this.assertConfigured(cfg);
    return this.doRefund(payment, refund, cfg);
  }
  protected abstract doRefund(payment: PaymentRecord, refund: RefundRequest, cfg: ChannelConfig): Promise<RefundOutcome>;

  async close(payment: PaymentRecord, cfg: ChannelConfig): Promise<QueryResult> {
    return this.queryPayment(payment, cfg);
  }

  abstract ack(): HttpAnswer;
  abstract nack(message: string): HttpAnswer;
}
