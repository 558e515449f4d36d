-- AlterTable
ALTER TABLE "Order" ADD COLUMN     "seckillReservationId" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Order_seckillReservationId_key" ON "Order"("seckillReservationId");
