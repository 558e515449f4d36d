-- AlterEnum
ALTER TYPE "SeckillSessionStatus" ADD VALUE 'CANCELLED';

-- AlterTable
ALTER TABLE "CouponTemplate" ADD COLUMN     "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- AlterTable
ALTER TABLE "SeckillItem" ADD COLUMN     "shards" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "slot" SERIAL NOT NULL;

-- AlterTable
ALTER TABLE "SeckillSession" ADD COLUMN     "cancelledAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "FullReductionCampaign" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "scope" "CouponScope" NOT NULL DEFAULT 'ALL',
    "scopeIds" TEXT[],
    "tiers" JSONB NOT NULL,
    "stackableWithCoupons" BOOLEAN NOT NULL DEFAULT true,
    "startsAt" TIMESTAMP(3) NOT NULL,
    "endsAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FullReductionCampaign_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "FullReductionCampaign_currency_endsAt_idx" ON "FullReductionCampaign"("currency", "endsAt");

-- CreateIndex
CREATE UNIQUE INDEX "SeckillItem_slot_key" ON "SeckillItem"("slot");

-- A campaign's tiers are validated by the service; the store keeps at least one.
ALTER TABLE "FullReductionCampaign" ADD CONSTRAINT "FullReductionCampaign_tiers_check" CHECK (jsonb_typeof("tiers") = 'array' AND jsonb_array_length("tiers") BETWEEN 1 AND 10);
ALTER TABLE "FullReductionCampaign" ADD CONSTRAINT "FullReductionCampaign_dates_check" CHECK ("endsAt" > "startsAt");
ALTER TABLE "SeckillItem" ADD CONSTRAINT "SeckillItem_shards_check" CHECK ("shards" BETWEEN 1 AND 64);
