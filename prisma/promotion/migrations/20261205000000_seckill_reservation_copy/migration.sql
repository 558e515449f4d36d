-- The PostgreSQL copy of seckill reservations (decision 0032): written by the stream consumer.
CREATE TABLE "SeckillReservation" (
    "id" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "skuId" TEXT NOT NULL,
    "buyerId" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "unitPrice" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "settled" BOOLEAN NOT NULL DEFAULT false,
    "orderId" TEXT,
    "orderStatus" TEXT,
    "homeShard" INTEGER NOT NULL,
    "stockShard" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "idemKey" TEXT,
    "version" INTEGER NOT NULL,
    "reservedAt" TIMESTAMP(3) NOT NULL,
    "copiedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SeckillReservation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SeckillReservation_sessionId_skuId_homeShard_seq_idx" ON "SeckillReservation"("sessionId", "skuId", "homeShard", "seq");
