-- CreateTable
CREATE TABLE "ActivitySku" (
    "id" TEXT NOT NULL,
    "activityId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "draws" INTEGER NOT NULL,
    "pricePoints" INTEGER NOT NULL,
    "stockTotal" INTEGER NOT NULL,
    "stock" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ActivitySku_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ActivitySkuPurchase" (
    "id" TEXT NOT NULL,
    "skuId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "draws" INTEGER NOT NULL,
    "points" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ActivitySkuPurchase_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ActivitySku_activityId_name_key" ON "ActivitySku"("activityId", "name");

-- CreateIndex
CREATE INDEX "ActivitySkuPurchase_skuId_idx" ON "ActivitySkuPurchase"("skuId");

-- CreateIndex
CREATE UNIQUE INDEX "ActivitySkuPurchase_memberId_skuId_idempotencyKey_key" ON "ActivitySkuPurchase"("memberId", "skuId", "idempotencyKey");

-- Hand-written (Prisma has no CHECK): a pack's stock and a points balance never go below zero; a
-- purchase statement that would take either below aborts whole (services/packs.ts).
ALTER TABLE "ActivitySku" ADD CONSTRAINT "ActivitySku_stock_check" CHECK ("stock" >= 0);
ALTER TABLE "PointsAccount" ADD CONSTRAINT "PointsAccount_balance_check" CHECK ("balance" >= 0);
