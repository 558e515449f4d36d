-- CreateEnum
CREATE TYPE "AwardKind" AS ENUM ('POINTS', 'COUPON', 'GOODS', 'NONE');

-- CreateEnum
CREATE TYPE "ActivityState" AS ENUM ('DRAFT', 'ONLINE', 'CLOSED');

-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('PENDING', 'DELIVERED');

-- CreateTable
CREATE TABLE "RedEnvelopeRain" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "totalAmount" DECIMAL(18,4) NOT NULL,
    "shares" INTEGER NOT NULL,
    "shards" INTEGER NOT NULL,
    "startsAt" TIMESTAMP(3) NOT NULL,
    "endsAt" TIMESTAMP(3) NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closedAt" TIMESTAMP(3),
    "grabbedAmount" DECIMAL(18,4),
    "grabbedCount" INTEGER,
    "refundAmount" DECIMAL(18,4),

    CONSTRAINT "RedEnvelopeRain_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RedEnvelopeGrab" (
    "id" TEXT NOT NULL,
    "rainId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "amount" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "grabbedAt" TIMESTAMP(3) NOT NULL,
    "creditedAt" TIMESTAMP(3),

    CONSTRAINT "RedEnvelopeGrab_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Strategy" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "blacklistAwardId" TEXT,
    "fallbackAwardId" TEXT NOT NULL,
    "weightRules" JSONB NOT NULL DEFAULT '[]',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Strategy_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Award" (
    "id" TEXT NOT NULL,
    "strategyId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "AwardKind" NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "reference" TEXT,
    "rate" DECIMAL(6,4) NOT NULL,
    "stockTotal" INTEGER NOT NULL DEFAULT -1,
    "stock" INTEGER NOT NULL DEFAULT -1,
    "lockAfterDraws" INTEGER NOT NULL DEFAULT 0,
    "sortOrder" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "Award_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StrategyBlacklist" (
    "strategyId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,

    CONSTRAINT "StrategyBlacklist_pkey" PRIMARY KEY ("strategyId","memberId")
);

-- CreateTable
CREATE TABLE "Activity" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "strategyId" TEXT NOT NULL,
    "state" "ActivityState" NOT NULL DEFAULT 'DRAFT',
    "startsAt" TIMESTAMP(3) NOT NULL,
    "endsAt" TIMESTAMP(3) NOT NULL,
    "quotaTotal" INTEGER NOT NULL DEFAULT 0,
    "quotaMonth" INTEGER NOT NULL DEFAULT 0,
    "quotaDay" INTEGER NOT NULL DEFAULT 0,
    "pointsPerDraw" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Activity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QuotaAccount" (
    "activityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "totalUsed" INTEGER NOT NULL DEFAULT 0,
    "month" TEXT NOT NULL DEFAULT '',
    "monthUsed" INTEGER NOT NULL DEFAULT 0,
    "day" TEXT NOT NULL DEFAULT '',
    "dayUsed" INTEGER NOT NULL DEFAULT 0,
    "bonus" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "QuotaAccount_pkey" PRIMARY KEY ("activityId","memberId")
);

-- CreateTable
CREATE TABLE "ParticipationOrder" (
    "id" TEXT NOT NULL,
    "activityId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "awardId" TEXT,
    "awardName" TEXT,
    "rule" TEXT,
    "delivery" "DeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "deliveredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ParticipationOrder_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PointsAccount" (
    "memberId" TEXT NOT NULL,
    "balance" INTEGER NOT NULL DEFAULT 0,
    "earned" INTEGER NOT NULL DEFAULT 0,
    "spent" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PointsAccount_pkey" PRIMARY KEY ("memberId")
);

-- CreateTable
CREATE TABLE "PointsLedger" (
    "id" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "delta" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PointsLedger_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SignIn" (
    "memberId" TEXT NOT NULL,
    "day" TEXT NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "draws" INTEGER NOT NULL DEFAULT 0,
    "activityId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SignIn_pkey" PRIMARY KEY ("memberId","day")
);

-- CreateIndex
CREATE INDEX "RedEnvelopeGrab_memberId_idx" ON "RedEnvelopeGrab"("memberId");

-- CreateIndex
CREATE UNIQUE INDEX "RedEnvelopeGrab_rainId_memberId_key" ON "RedEnvelopeGrab"("rainId", "memberId");

-- CreateIndex
CREATE UNIQUE INDEX "Strategy_name_key" ON "Strategy"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Award_strategyId_name_key" ON "Award"("strategyId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Activity_name_key" ON "Activity"("name");

-- CreateIndex
CREATE INDEX "ParticipationOrder_activityId_awardId_idx" ON "ParticipationOrder"("activityId", "awardId");

-- CreateIndex
CREATE UNIQUE INDEX "ParticipationOrder_memberId_activityId_idempotencyKey_key" ON "ParticipationOrder"("memberId", "activityId", "idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "PointsLedger_reference_key" ON "PointsLedger"("reference");

-- CreateIndex
CREATE INDEX "PointsLedger_memberId_idx" ON "PointsLedger"("memberId");

-- AddForeignKey
ALTER TABLE "RedEnvelopeGrab" ADD CONSTRAINT "RedEnvelopeGrab_rainId_fkey" FOREIGN KEY ("rainId") REFERENCES "RedEnvelopeRain"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Award" ADD CONSTRAINT "Award_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StrategyBlacklist" ADD CONSTRAINT "StrategyBlacklist_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Activity" ADD CONSTRAINT "Activity_strategyId_fkey" FOREIGN KEY ("strategyId") REFERENCES "Strategy"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
