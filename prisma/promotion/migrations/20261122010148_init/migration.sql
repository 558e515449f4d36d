-- CreateEnum
CREATE TYPE "SeckillSessionStatus" AS ENUM ('SCHEDULED', 'ONLINE', 'ENDED');

-- CreateEnum
CREATE TYPE "CouponType" AS ENUM ('FULL_REDUCTION', 'DISCOUNT', 'NO_THRESHOLD', 'NEW_USER');

-- CreateEnum
CREATE TYPE "CouponScope" AS ENUM ('ALL', 'CATEGORIES', 'SPUS');

-- CreateEnum
CREATE TYPE "CouponStatus" AS ENUM ('UNUSED', 'LOCKED', 'USED');

-- CreateTable
CREATE TABLE "SeckillSession" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "startsAt" TIMESTAMP(3) NOT NULL,
    "endsAt" TIMESTAMP(3) NOT NULL,
    "status" "SeckillSessionStatus" NOT NULL DEFAULT 'SCHEDULED',
    "onlineAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "stockReturnedAt" TIMESTAMP(3),
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SeckillSession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SeckillItem" (
    "sessionId" TEXT NOT NULL,
    "skuId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "seckillPrice" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "stock" INTEGER NOT NULL,
    "perUserLimit" INTEGER NOT NULL,
    "returnedStock" INTEGER,

    CONSTRAINT "SeckillItem_pkey" PRIMARY KEY ("sessionId","skuId")
);

-- CreateTable
CREATE TABLE "CouponTemplate" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" "CouponType" NOT NULL,
    "currency" TEXT NOT NULL,
    "threshold" DECIMAL(18,4) NOT NULL,
    "amount" DECIMAL(18,4),
    "rate" DECIMAL(6,4),
    "cap" DECIMAL(18,4),
    "scope" "CouponScope" NOT NULL DEFAULT 'ALL',
    "scopeIds" TEXT[],
    "validFrom" TIMESTAMP(3),
    "validTo" TIMESTAMP(3),
    "validDays" INTEGER,
    "totalQuantity" INTEGER NOT NULL,
    "issuedCount" INTEGER NOT NULL DEFAULT 0,
    "perUserLimit" INTEGER NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CouponTemplate_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CouponClaimCount" (
    "templateId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "CouponClaimCount_pkey" PRIMARY KEY ("templateId","memberId")
);

-- CreateTable
CREATE TABLE "Coupon" (
    "id" TEXT NOT NULL,
    "templateId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "status" "CouponStatus" NOT NULL DEFAULT 'UNUSED',
    "validFrom" TIMESTAMP(3) NOT NULL,
    "validTo" TIMESTAMP(3) NOT NULL,
    "orderId" TEXT,
    "discount" DECIMAL(18,4),
    "issueKey" TEXT,
    "lockedAt" TIMESTAMP(3),
    "usedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Coupon_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SeckillSession_status_startsAt_idx" ON "SeckillSession"("status", "startsAt");

-- CreateIndex
CREATE INDEX "SeckillSession_status_endsAt_idx" ON "SeckillSession"("status", "endsAt");

-- CreateIndex
CREATE INDEX "SeckillItem_skuId_idx" ON "SeckillItem"("skuId");

-- CreateIndex
CREATE INDEX "CouponTemplate_type_active_idx" ON "CouponTemplate"("type", "active");

-- CreateIndex
CREATE UNIQUE INDEX "Coupon_orderId_key" ON "Coupon"("orderId");

-- CreateIndex
CREATE UNIQUE INDEX "Coupon_issueKey_key" ON "Coupon"("issueKey");

-- CreateIndex
CREATE INDEX "Coupon_memberId_createdAt_idx" ON "Coupon"("memberId", "createdAt");

-- CreateIndex
CREATE INDEX "Coupon_templateId_idx" ON "Coupon"("templateId");

-- AddForeignKey
ALTER TABLE "SeckillItem" ADD CONSTRAINT "SeckillItem_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "SeckillSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Coupon" ADD CONSTRAINT "Coupon_templateId_fkey" FOREIGN KEY ("templateId") REFERENCES "CouponTemplate"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Guards the conditional updates can rely on (not modelled by Prisma)
ALTER TABLE "CouponTemplate" ADD CONSTRAINT "CouponTemplate_issued_check" CHECK ("issuedCount" >= 0 AND "issuedCount" <= "totalQuantity");
ALTER TABLE "SeckillItem" ADD CONSTRAINT "SeckillItem_stock_check" CHECK ("stock" > 0 AND "perUserLimit" > 0);
