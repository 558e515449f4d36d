-- Withdrawals are payouts (decision 0026): a Payout per member and idempotency key, settled by the
-- channel's signed callback; the sandbox provider keeps its own payouts. The merchant ledger books a
-- payout (paymentId null, payoutId set) as well as payments and refunds.
CREATE TYPE "PayoutStatus" AS ENUM ('PENDING', 'SUCCEEDED', 'FAILED');

CREATE TABLE "Payout" (
    "id" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "payoutKey" TEXT NOT NULL,
    "appId" TEXT NOT NULL,
    "merchantId" TEXT NOT NULL,
    "channel" "PaymentChannel" NOT NULL,
    "status" "PayoutStatus" NOT NULL DEFAULT 'PENDING',
    "amount" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "providerPayoutNo" TEXT,
    "failure" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),
    "walletSettledAt" TIMESTAMP(3),
    CONSTRAINT "Payout_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Payout_amount_positive" CHECK ("amount" > 0),
    CONSTRAINT "Payout_channel_not_wallet" CHECK ("channel" <> 'WALLET')
);
CREATE UNIQUE INDEX "Payout_memberId_payoutKey_key" ON "Payout"("memberId", "payoutKey");
CREATE INDEX "Payout_status_createdAt_idx" ON "Payout"("status", "createdAt");

CREATE TABLE "SandboxPayout" (
    "id" TEXT NOT NULL,
    "payoutNo" TEXT NOT NULL,
    "outPayoutNo" TEXT NOT NULL,
    "merchantAppId" TEXT NOT NULL,
    "payee" TEXT NOT NULL,
    "amount" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PROCESSING',
    "failReason" TEXT,
    "notifyUrl" TEXT NOT NULL,
    "finishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "SandboxPayout_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "SandboxPayout_payoutNo_key" ON "SandboxPayout"("payoutNo");
CREATE UNIQUE INDEX "SandboxPayout_outPayoutNo_key" ON "SandboxPayout"("outPayoutNo");

ALTER TABLE "MerchantLedgerEntry" ALTER COLUMN "paymentId" DROP NOT NULL;
ALTER TABLE "MerchantLedgerEntry" ADD COLUMN "payoutId" TEXT;
ALTER TABLE "MerchantLedgerEntry" ADD CONSTRAINT "MerchantLedgerEntry_source" CHECK (("paymentId" IS NULL) <> ("payoutId" IS NULL));
