/**
 * The built-in SANDBOX provider. It behaves like a real one: it keeps its own trades (Sandbox*
 * tables), has its own RSA key pair (SANDBOX_PRIVATE_KEY_PEM, or generated at first start and
 * stored), signs its asynchronous notifications (RSA2 over the sorted parameters, like Alipay) and
 * POSTs them to the merchant's notify_url, answers trade queries, processes refunds and produces a
 * daily statement for reconciliation. Payouts (money to a payee, a member's withdrawal) are accepted
 * as PROCESSING, finished once (SUCCESS or FAIL) and notified signed the same way.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { dayRange } from "@mallgraph/platform/days";
import { defined } from "@mallgraph/platform/errors";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import { alipaySignContent, chinaTimestamp, rsaSha256Sign } from "../channels/crypto.ts";
import type { PrismaClient, SandboxPayout, SandboxTransaction } from "../generated/prisma/client.ts";

export interface SandboxKeys {
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface StatementLine {
  tradeNo: string;
  outTradeNo: string;
  merchantAppId: string;
  amount: string;
  currency: string;
  paidAt: Date;
}

export type Deliver = (url: string, body: string) => Promise<{ status: number; body: string }>;

const httpDeliver: Deliver = async (url, body) => {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded;charset=utf-8" },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
};

export class SandboxProvider {
  private keys?: SandboxKeys;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly opts: { privateKeyPem?: string; publicKeyPem?: string; deliver?: Deliver } = {},
  ) {}

  /** Loads (or generates and stores, once for every process) the provider's key pair. */
  async init(): Promise<SandboxKeys> {
    if (this.keys) return this.keys;
    if (this.opts.privateKeyPem && this.opts.publicKeyPem)
      return (this.keys = { privateKeyPem: this.opts.privateKeyPem, publicKeyPem: this.opts.publicKeyPem });
    let row = await this.prisma.sandboxKey.findUnique({ where: { id: "default" } });
    if (!row) {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
        publicKeyEncoding: { type: "spki", format: "pem" },
      });
      await this.prisma.sandboxKey.createMany({
        data: [{ id: "default", privateKeyPem: privateKey, publicKeyPem: publicKey }],
        skipDuplicates: true,
      });
      row = await this.prisma.sandboxKey.findUniqueOrThrow({ where: { id: "default" } });
    }
    return (this.keys = { privateKeyPem: row.privateKeyPem, publicKeyPem: row.publicKeyPem });
  }

  publicKeyPem(): string {
    if (!this.keys) throw new Error("sandbox provider not initialised");
    return this.keys.publicKeyPem;
  }

  /** Creates (idempotently per out_trade_no) a trade waiting for the buyer. */
  async createTrade(input: {
    outTradeNo: string;
    merchantAppId: string;
    subject: string;
    amount: string;
    currency: string;
    notifyUrl: string;
  }): Promise<SandboxTransaction> {
    const tradeNo = `SB${Date.now()}${randomBytes(4).toString("hex")}`;
    await this.prisma.sandboxTransaction.createMany({ data: [{ ...input, tradeNo }], skipDuplicates: true });
    return this.prisma.sandboxTransaction.findUniqueOrThrow({ where: { outTradeNo: input.outTradeNo } });
  }

  trade(outTradeNo: string): Promise<SandboxTransaction | null> {
    return this.prisma.sandboxTransaction.findUnique({ where: { outTradeNo } });
  }

  /** The buyer pays: WAIT_PAY → PAID once. Answers the trade (null when unknown). */
  async pay(outTradeNo: string): Promise<SandboxTransaction | null> {
    await this.prisma.sandboxTransaction.updateMany({
      where: { outTradeNo, status: "WAIT_PAY" },
      data: { status: "PAID", paidAt: new Date() },
    });
    return this.trade(outTradeNo);
  }

  /** The signed notification of a paid trade, as form parameters (the same for every redelivery). */
  async notification(t: SandboxTransaction): Promise<Record<string, string>> {
    const keys = await this.init();
    const params: Record<string, string> = {
      notify_id: `SBN-${t.tradeNo}`,
      notify_type: "trade_status_sync",
      notify_time: chinaTimestamp(),
      app_id: t.merchantAppId,
      out_trade_no: t.outTradeNo,
      trade_no: t.tradeNo,
      total_amount: formatAmount(t.amount, t.currency),
      currency: t.currency,
      trade_status: "TRADE_SUCCESS",
      gmt_payment: chinaTimestamp(t.paidAt ?? new Date()),
      sign_type: "RSA2",
    };
    params.sign = rsaSha256Sign(alipaySignContent(params, ["sign", "sign_type"]), keys.privateKeyPem);
    return params;
  }

  /** POSTs the notification to the trade's notify_url; true when the merchant acknowledged ("success"). */
  async deliver(t: SandboxTransaction, params?: Record<string, string>): Promise<boolean> {
    return this.post(t.notifyUrl, params ?? (await this.notification(t)));
  }

  async query(outTradeNo: string) {
    const t = await this.trade(outTradeNo);
    if (!t) return { status: "NOT_FOUND" as const };
    return {
      status: t.status as "WAIT_PAY" | "PAID" | "CLOSED",
      amount: formatAmount(t.amount, t.currency),
      currency: t.currency,
      tradeNo: t.tradeNo,
      paidAt: t.paidAt ?? undefined,
    };
  }

  /** Closes an unpaid trade (WAIT_PAY → CLOSED); a paid one stays paid. Answers the final state. */
  async close(outTradeNo: string) {
    await this.prisma.sandboxTransaction.updateMany({ where: { outTradeNo, status: "WAIT_PAY" }, data: { status: "CLOSED" } });
    return this.query(outTradeNo);
  }

  /** Refunds part of a paid trade, idempotently per out_refund_no; never more than was paid. */
  async refund(outTradeNo: string, outRefundNo: string, amount: string): Promise<{ ok: boolean; refundNo?: string; message?: string }> {
    return this.prisma.$transaction(async (tx) => {
      const done = await tx.sandboxRefund.findUnique({ where: { outRefundNo } });
      if (done) return { ok: true, refundNo: done.id };
      const rows = await tx.$queryRaw<Array<{ tradeNo: string }>>`
        UPDATE "SandboxTransaction" SET "refundedAmount" = "refundedAmount" + ${amount}::numeric
        WHERE "outTradeNo" = ${outTradeNo} AND status = 'PAID' AND "refundedAmount" + ${amount}::numeric <= amount
        RETURNING "tradeNo"`;
      if (!rows.length) return { ok: false, message: "trade not paid or refund exceeds the paid amount" };
      const r = await tx.sandboxRefund.create({ data: { tradeNo: defined(rows[0], "the refunded trade").tradeNo, outRefundNo, amount } });
      return { ok: true, refundNo: r.id };
    });
  }

  /** Accepts a payout (idempotently per out_payout_no) as PROCESSING; the same out_payout_no with other terms is refused. */
  async createPayout(input: {
    outPayoutNo: string;
    merchantAppId: string;
    payee: string;
    amount: string;
    currency: string;
    notifyUrl: string;
  }): Promise<{ ok: boolean; payout?: SandboxPayout; message?: string }> {
    const payoutNo = `SBP${Date.now()}${randomBytes(4).toString("hex")}`;
    await this.prisma.sandboxPayout.createMany({ data: [{ ...input, payoutNo }], skipDuplicates: true });
    const p = await this.prisma.sandboxPayout.findUniqueOrThrow({ where: { outPayoutNo: input.outPayoutNo } });
    if (p.payee !== input.payee || p.currency !== input.currency || !new Decimal(p.amount.toString()).eq(input.amount))
      return { ok: false, message: "out_payout_no was used for another payout" };
    return { ok: true, payout: p };
  }

  payout(outPayoutNo: string): Promise<SandboxPayout | null> {
    return this.prisma.sandboxPayout.findUnique({ where: { outPayoutNo } });
  }

  /** The provider finishes a payout: PROCESSING → SUCCESS or FAIL, once. Answers the payout (null when unknown). */
  async finishPayout(outPayoutNo: string, success: boolean, failReason?: string): Promise<SandboxPayout | null> {
    await this.prisma.sandboxPayout.updateMany({
      where: { outPayoutNo, status: "PROCESSING" },
      data: {
        status: success ? "SUCCESS" : "FAIL",
        failReason: success ? null : (failReason ?? "payee account invalid").slice(0, 200),
        finishedAt: new Date(),
      },
    });
    return this.payout(outPayoutNo);
  }

  /** The signed notification of a finished payout (RSA2 over the sorted parameters, as for trades). */
  async payoutNotification(p: SandboxPayout): Promise<Record<string, string>> {
    const keys = await this.init();
    const params: Record<string, string> = {
      notify_id: `SBPN-${p.payoutNo}`,
      notify_type: "payout_status_sync",
      notify_time: chinaTimestamp(),
      app_id: p.merchantAppId,
      out_payout_no: p.outPayoutNo,
      payout_no: p.payoutNo,
      amount: formatAmount(p.amount, p.currency),
      currency: p.currency,
      payout_status: p.status,
      sign_type: "RSA2",
    };
    if (p.failReason) params.fail_reason = p.failReason;
    if (p.finishedAt) params.gmt_finish = chinaTimestamp(p.finishedAt);
    params.sign = rsaSha256Sign(alipaySignContent(params, ["sign", "sign_type"]), keys.privateKeyPem);
    return params;
  }

  /** POSTs a finished payout's notification to its notify_url; true when acknowledged ("success"). */
  async deliverPayout(p: SandboxPayout, params?: Record<string, string>): Promise<boolean> {
    return this.post(p.notifyUrl, params ?? (await this.payoutNotification(p)));
  }

  private async post(url: string, params: Record<string, string>): Promise<boolean> {
    try {
      const res = await (this.opts.deliver ?? httpDeliver)(url, new URLSearchParams(params).toString());
      return res.status === 200 && res.body.trim() === "success";
    } catch {
      return false;
    }
  }

  /** The statement of one day (Asia/Shanghai): every trade paid that day. */
  async statement(date: string): Promise<StatementLine[]> {
    const [from, to] = dayRange(date);
    const rows = await this.prisma.sandboxTransaction.findMany({
      where: { status: "PAID", paidAt: { gte: from, lt: to } },
      orderBy: { paidAt: "asc" },
    });
    return rows.map((t) => ({
      tradeNo: t.tradeNo,
      outTradeNo: t.outTradeNo,
      merchantAppId: t.merchantAppId,
      amount: formatAmount(t.amount, t.currency),
      currency: t.currency,
      paidAt: defined(t.paidAt, `paidAt of PAID trade ${t.tradeNo}`),
    }));
  }
}

export { Decimal };
