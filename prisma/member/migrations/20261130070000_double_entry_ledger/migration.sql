-- Hand-written: the member ledger becomes double-entry (decision 0019).
-- System accounts (owner PLATFORM) sit next to the members' accounts: MARKETING (red-envelope
-- budgets), ADJUSTMENT (operator adjustments and the platform's own contributions; the only account
-- that may go below zero) and SETTLEMENT (wallet payments captured for merchants, refunds paid back).
ALTER TYPE "LedgerType" ADD VALUE IF NOT EXISTS 'DEBIT';

ALTER TABLE "WalletAccount" ALTER COLUMN "memberId" DROP NOT NULL;
ALTER TABLE "WalletAccount" ADD COLUMN "system" TEXT;
ALTER TABLE "WalletAccount" ADD CONSTRAINT "WalletAccount_one_owner" CHECK (("memberId" IS NULL) <> ("system" IS NULL));
ALTER TABLE "WalletAccount" ADD CONSTRAINT "WalletAccount_system_known" CHECK ("system" IS NULL OR "system" IN ('MARKETING', 'ADJUSTMENT', 'SETTLEMENT'));
CREATE UNIQUE INDEX "WalletAccount_system_currency_key" ON "WalletAccount"("system", "currency");
ALTER TABLE "WalletAccount" DROP CONSTRAINT "WalletAccount_balance_nonnegative";
ALTER TABLE "WalletAccount" ADD CONSTRAINT "WalletAccount_balance_nonnegative" CHECK ("balance" >= 0 OR "system" = 'ADJUSTMENT');

-- Every movement names its counter-account: the other account of a transfer, the account itself for
-- a freeze or its release, and no account only for money crossing the platform's edge (a paid top-up,
-- a paid-out withdrawal). Rows written before this migration keep a null counter-account (NOT VALID).
ALTER TABLE "LedgerEntry" ADD COLUMN "counterAccountId" TEXT;
ALTER TABLE "LedgerEntry" ADD COLUMN "reason" TEXT;
ALTER TABLE "LedgerEntry" ADD CONSTRAINT "LedgerEntry_counterAccountId_fkey" FOREIGN KEY ("counterAccountId") REFERENCES "WalletAccount"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "LedgerEntry" ADD CONSTRAINT "LedgerEntry_counter_account" CHECK ("counterAccountId" IS NOT NULL OR "type" IN ('TOPUP', 'WITHDRAW')) NOT VALID;
CREATE INDEX "LedgerEntry_accountId_id_idx" ON "LedgerEntry"("accountId", "id");

INSERT INTO "WalletAccount" (id, "system", currency)
SELECT gen_random_uuid()::text, s.name, c.code FROM "Currency" c CROSS JOIN (VALUES ('MARKETING'), ('ADJUSTMENT'), ('SETTLEMENT')) AS s(name)
ON CONFLICT DO NOTHING;
