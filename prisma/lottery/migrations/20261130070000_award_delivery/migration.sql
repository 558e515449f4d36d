-- AlterEnum
ALTER TYPE "DeliveryStatus" ADD VALUE 'AWAITING_ADDRESS';
ALTER TYPE "DeliveryStatus" ADD VALUE 'FAILED';

-- AlterTable
ALTER TABLE "ParticipationOrder" ADD COLUMN     "addressId" TEXT,
ADD COLUMN     "couponId" TEXT,
ADD COLUMN     "deliveryAttempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "deliveryError" TEXT,
ADD COLUMN     "prizeOrderId" TEXT;

-- CreateTable
CREATE TABLE "LotteryEvent" (
    "id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "publishedAt" TIMESTAMP(3),

    CONSTRAINT "LotteryEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LotteryEvent_topic_publishedAt_createdAt_idx" ON "LotteryEvent"("topic", "publishedAt", "createdAt");

-- CreateIndex
CREATE INDEX "ParticipationOrder_activityId_createdAt_idx" ON "ParticipationOrder"("activityId", "createdAt");

-- CreateIndex
CREATE INDEX "ParticipationOrder_delivery_createdAt_idx" ON "ParticipationOrder"("delivery", "createdAt");
