-- A payment has a purpose: an ORDER (order fields set) or a WALLET_TOP_UP (order fields null; the
-- member's idempotency key makes one payment per key).
CREATE TYPE "PaymentPurpose" AS ENUM ('ORDER', 'WALLET_TOP_UP');

ALTER TABLE "Payment" ADD COLUMN "purpose" "PaymentPurpose" NOT NULL DEFAULT 'ORDER';
ALTER TABLE "Payment" ADD COLUMN "topUpKey" TEXT;
ALTER TABLE "Payment" ALTER COLUMN "orderId" DROP NOT NULL;
ALTER TABLE "Payment" ALTER COLUMN "orderNo" DROP NOT NULL;
ALTER TABLE "Payment" ADD CONSTRAINT "Payment_purpose_fields" CHECK (
  ("purpose" = 'ORDER' AND "orderId" IS NOT NULL AND "orderNo" IS NOT NULL AND "topUpKey" IS NULL) OR
  ("purpose" = 'WALLET_TOP_UP' AND "orderId" IS NULL AND "orderNo" IS NULL AND "topUpKey" IS NOT NULL AND "channel" <> 'WALLET'));
CREATE UNIQUE INDEX "Payment_buyerId_topUpKey_key" ON "Payment"("buyerId", "topUpKey");
