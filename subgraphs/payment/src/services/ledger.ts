/**
 * The merchant ledger: a payment's capture credits the merchant account, a refund or a payout (a
 * member's withdrawal paid out of the platform's money at the provider) debits it (inside the caller's
 * transaction).
 */
import { randomUUID } from "node:crypto";
import { defined } from "@mallgraph/platform/errors";
import { Decimal } from "@mallgraph/platform/money";
import type { Payment, Payout, Refund } from "../generated/prisma/client.ts";
import type { Tx } from "./shared.ts";

type Source = Pick<Payment, "merchantId" | "currency" | "channel"> & { paymentId?: string; payoutId?: string };

async function bookMerchant(tx: Tx, p: Source, signed: string, type: string, reference: string): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ id: string; balance: string }>>`
    INSERT INTO "MerchantAccount" (id, "merchantId", currency, balance)
    VALUES (${randomUUID()}, ${p.merchantId}, ${p.currency}, ${signed}::numeric)
    ON CONFLICT ("merchantId", currency) DO UPDATE SET balance = "MerchantAccount".balance + EXCLUDED.balance
    RETURNING id, balance::text AS balance`;
  const acc = defined(rows[0], "the merchant account upsert's row");
  await tx.merchantLedgerEntry.create({
    data: {
      accountId: acc.id,
      type,
      amount: signed,
      balanceAfter: acc.balance,
      paymentId: p.paymentId ?? null,
      payoutId: p.payoutId ?? null,
      channel: p.channel,
      reference,
    },
  });
}

export function creditMerchant(tx: Tx, p: Payment, amount: string) {
  return bookMerchant(tx, { ...p, paymentId: p.id }, amount, "CAPTURE", `capture:${p.id}`);
}

export function debitMerchant(tx: Tx, p: Payment, r: Refund) {
  return bookMerchant(tx, { ...p, paymentId: p.id }, new Decimal(r.amount.toString()).neg().toString(), "REFUND", `refund:${r.id}`);
}

export function debitPayout(tx: Tx, p: Payout) {
  return bookMerchant(
    tx,
    { merchantId: p.merchantId, currency: p.currency, channel: p.channel, payoutId: p.id },
    new Decimal(p.amount.toString()).neg().toString(),
    "PAYOUT",
    `payout:${p.id}`,
  );
}
