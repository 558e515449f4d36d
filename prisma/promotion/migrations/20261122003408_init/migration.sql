-- CreateEnum
CREATE TYPE "SeckillSessionStatus" AS ENUM ('SCHEDULED', 'ONLINE', 'ENDED');

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

-- CreateIndex
CREATE INDEX "SeckillSession_status_startsAt_idx" ON "SeckillSession"("status", "startsAt");

-- CreateIndex
CREATE INDEX "SeckillSession_status_endsAt_idx" ON "SeckillSession"("status", "endsAt");

-- CreateIndex
CREATE INDEX "SeckillItem_skuId_idx" ON "SeckillItem"("skuId");

-- AddForeignKey
ALTER TABLE "SeckillItem" ADD CONSTRAINT "SeckillItem_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "SeckillSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;
