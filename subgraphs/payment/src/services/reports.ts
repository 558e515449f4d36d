/**
 * Reconciliation (channel statement vs. local records), the transaction overview and CSV export.
 */
import { addDays, assertDay, dayOf, dayRange, SHOP_TIME_ZONE } from "@mallgraph/platform/days";
import { badInput } from "@mallgraph/platform/errors";
import { Decimal, formatAmount } from "@mallgraph/platform/money";
import type { Channel } from "../channels/types.ts";
import { Prisma, type PrismaClient, type ReconciliationDiff, type ReconciliationReport } from "../generated/prisma/client.ts";
import type { SandboxProvider, StatementLine } from "../sandbox/provider.ts";

export type ReportWithDiffs = ReconciliationReport & { differences: ReconciliationDiff[] };

export interface OverviewRow {
  day: string;
  appId: string;
  channel: Channel;
  currency: string;
  count: number;
  amount: string;
  refundedAmount: string;
}

const MAX_RANGE_DAYS = 366;

function range(from: string, to: string): [Date, Date] {
  assertDay(from, "from");
  assertDay(to, "to");
  if (from > to) throw badInput("from must not be after to", { field: "from" });
  if (Date.parse(to) - Date.parse(from) > MAX_RANGE_DAYS * 86_400_000) throw badInput(`at most ${MAX_RANGE_DAYS} days`, { field: "to" });
  return [dayRange(from)[0], dayRange(to)[1]];
}

export class ReportService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly statements: Partial<Record<Channel, (date: string) => Promise<StatementLine[]>>>,
  ) {}

  static forSandbox(prisma: PrismaClient, sandbox: SandboxProvider): ReportService {
    return new ReportService(prisma, { SANDBOX: (d) => sandbox.statement(d) });
  }

  /** Compares the channel's statement of `date` with the local successful payments of that day. */
  async reconcile(date: string, channel: Channel = "SANDBOX"): Promise<ReportWithDiffs> {
    assertDay(date);
    const statement = this.statements[channel];
    if (!statement) throw badInput(`no statement source for ${channel} yet`, { field: "channel" });
    const [from, to] = dayRange(date);
    const remote = await statement(date);
    const local = await this.prisma.payment.findMany({
      where: { channel, status: { in: ["SUCCEEDED", "REFUNDED"] }, paidAt: { gte: from, lt: to } },
    });
    const localByRef = new Map(local.map((p) => [p.checkoutRef, p]));
    const remoteByRef = new Map(remote.map((r) => [r.outTradeNo, r]));
    const diffs: Array<Omit<ReconciliationDiff, "id" | "reportId">> = [];
    let matched = 0;
    for (const r of remote) {
      const p = localByRef.get(r.outTradeNo);
      if (!p) {
        // Paid at the channel, not (or not on that day) here: look it up to tell which.
        const any = await this.prisma.payment.findUnique({ where: { checkoutRef: r.outTradeNo } });
        diffs.push({
          kind: "MISSING_LOCAL",
          checkoutRef: r.outTradeNo,
          paymentId: any?.id ?? null,
          localAmount: any ? any.amount : null,
          channelAmount: new Prisma.Decimal(r.amount),
          currency: r.currency,
        });
      } else if (!new Decimal(p.amount.toString()).eq(r.amount) || p.currency !== r.currency) {
        diffs.push({
          kind: "AMOUNT_MISMATCH",
          checkoutRef: r.outTradeNo,
          paymentId: p.id,
          localAmount: p.amount,
          channelAmount: new Prisma.Decimal(r.amount),
          currency: r.currency,
        });
      } else matched++;
    }
    for (const p of local) {
      if (!remoteByRef.has(p.checkoutRef))
        diffs.push({
          kind: "MISSING_AT_CHANNEL",
          checkoutRef: p.checkoutRef,
          paymentId: p.id,
          localAmount: p.amount,
          channelAmount: null,
          currency: p.currency,
        });
    }
    return this.prisma.$transaction(async (tx) => {
      const report = await tx.reconciliationReport.upsert({
        where: { date_channel: { date, channel } },
        create: { date, channel, matched, localCount: local.length, remoteCount: remote.length },
        update: { matched, localCount: local.length, remoteCount: remote.length },
      });
      await tx.reconciliationDiff.deleteMany({ where: { reportId: report.id } });
      if (diffs.length) await tx.reconciliationDiff.createMany({ data: diffs.map((d) => ({ ...d, reportId: report.id })) });
      return tx.reconciliationReport.findUniqueOrThrow({
        where: { id: report.id },
        include: { differences: { orderBy: { checkoutRef: "asc" } } },
      });
    });
  }

  report(date: string, channel: Channel = "SANDBOX"): Promise<ReportWithDiffs | null> {
    assertDay(date);
    return this.prisma.reconciliationReport.findUnique({
      where: { date_channel: { date, channel } },
      include: { differences: { orderBy: { checkoutRef: "asc" } } },
    });
  }

  /** Yesterday, as a business day (what the daily job reconciles). */
  static yesterday(now = new Date()): string {
    return addDays(dayOf(now), -1);
  }

  /** Successful payments by day of payment, app, channel and currency, with exact sums. */
  async overview(from: string, to: string, appId?: string | null, merchantId?: string | null): Promise<OverviewRow[]> {
    const [start, end] = range(from, to);
    const rows = await this.prisma.$queryRaw<
      Array<{ day: string; appId: string; channel: Channel; currency: string; count: number; amount: string; refunded: string }>
    >`
      SELECT to_char(("paidAt" AT TIME ZONE 'UTC') AT TIME ZONE ${SHOP_TIME_ZONE}, 'YYYY-MM-DD') AS day,
             "appId", channel::text AS channel, currency, count(*)::int AS count,
             sum(amount)::text AS amount, sum("refundedAmount")::text AS refunded
      FROM "Payment"
      WHERE status IN ('SUCCEEDED', 'REFUNDED')
        AND "paidAt" >= (${start.toISOString()}::timestamptz AT TIME ZONE 'UTC') AND "paidAt" < (${end.toISOString()}::timestamptz AT TIME ZONE 'UTC')
        AND (${appId ?? null}::text IS NULL OR "appId" = ${appId ?? null}::text)
        AND (${merchantId ?? null}::text IS NULL OR "merchantId" = ${merchantId ?? null}::text)
      GROUP BY 1, 2, 3, 4
      ORDER BY 1, 2, 3, 4`;
    return rows.map((r) => ({
      day: r.day,
      appId: r.appId,
      channel: r.channel,
      currency: r.currency,
      count: r.count,
      amount: formatAmount(r.amount, r.currency),
      refundedAmount: formatAmount(r.refunded, r.currency),
    }));
  }

  /** CSV (RFC 4180) of the payments created between the days `from` and `to`. */
  async exportCsv(from: string, to: string): Promise<string> {
    const [start, end] = range(from, to);
    const header = [
      "paymentId",
      "orderId",
      "orderNo",
      "appId",
      "merchantId",
      "channel",
      "status",
      "amount",
      "refundedAmount",
      "currency",
      "checkoutRef",
      "providerTradeNo",
      "createdAt",
      "paidAt",
      "closedAt",
    ];
    const lines = [header.join(",")];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.prisma.payment.findMany({
        where: { createdAt: { gte: start, lt: end } },
        orderBy: { id: "asc" },
        take: 1000,
        ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
      });
      for (const p of page) {
        lines.push(
          [
            p.id,
            p.orderId ?? "",
            p.orderNo ?? "",
            p.appId,
            p.merchantId,
            p.channel,
            p.status,
            formatAmount(p.amount, p.currency),
            formatAmount(p.refundedAmount, p.currency),
            p.currency,
            p.checkoutRef,
            p.providerTradeNo ?? "",
            p.createdAt.toISOString(),
            p.paidAt?.toISOString() ?? "",
            p.closedAt?.toISOString() ?? "",
          ]
            .map(csvCell)
            .join(","),
        );
      }
      const last = page.at(-1);
      if (!last || page.length < 1000) break;
      cursor = last.id;
    }
    return lines.join("\r\n") + "\r\n";
  }
}

/** One CSV cell: quoted when needed; a leading = + - @ is neutralised (spreadsheet formula injection). */
export function csvCell(v: string): string {
  let s = v;
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
