/** The merchant ledger: a payment's capture credits the merchant account, a refund debits it (inside the caller's transaction). */
import { randomUUID } from "node:crypto";
import { Decimal } from "@mallgraph/platform/money";
import type { Payment, Refund } from "../generated/prisma/client.ts";
import type { Tx } from "./shared.ts";
import { defined } from "@mallgraph/platform/errors";

async function bookMerchant(tx: Tx, p: Payment, signed: string, type: string, reference: string): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ id: string; balance: string }>>`
    INSERT INTO "MerchantAccount" (id, "merchantId", currency, balance)
    VALUES (${randomUUID()}, ${p.merchantId}, ${p.currency}, ${signed}::numeric)
    ON CONFLICT ("merchantId", currency) DO UPDATE SET balance = "MerchantAccount".balance + EXCLUDED.balance
    RETURNING id, balance::text AS balance`;
  const acc = defined(rows[0], "the merchant account upsert's row");
  await tx.merchantLedgerEntry.create({ data: { accountId: acc.id, type, amount: signed, balanceAfter: acc.balance, paymentId: p.id, channel: p.channel, reference } });
}

export function creditMerchant(tx: Tx, p: Payment, amount: string) {
  return bookMerchant(tx, p, amount, "CAPTURE", `capture:${p.id}`);
}

export function debitMerchant(tx: Tx, p: Payment, r: Refund) {
  return bookMerchant(tx, p, new Decimal(r.amount.toString()).neg().toString(), "REFUND", `refund:${r.id}`);
}
