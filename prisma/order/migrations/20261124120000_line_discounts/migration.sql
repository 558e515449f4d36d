-- AlterTable
ALTER TABLE "OrderItem" ADD COLUMN     "afterSaleAmount" DECIMAL(18,4) NOT NULL DEFAULT 0,
ADD COLUMN     "afterSaleQuantity" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "discount" DECIMAL(18,4) NOT NULL DEFAULT 0,
ADD COLUMN     "payable" DECIMAL(18,4);

-- Orders placed before the pricing function kept one discount for the whole order: spread it over
-- its lines in proportion to their subtotals (rounded down to the currency's minor unit), the rest to
-- the largest line, so the line discounts add up to the order's discount exactly.
WITH d AS (
  SELECT i."id", i."orderId", i."subtotal", o."discount" AS od, o."itemsTotal" AS ot,
         CASE o."currency" WHEN 'JPY' THEN 0 WHEN 'KRW' THEN 0 ELSE 2 END AS digits,
         row_number() OVER (PARTITION BY i."orderId" ORDER BY i."subtotal" DESC, i."id") AS rn
  FROM "OrderItem" i JOIN "Order" o ON o."id" = i."orderId"
  WHERE o."discount" > 0 AND o."itemsTotal" > 0
), s AS (
  SELECT d.*, trunc(d.od * d."subtotal" / d.ot, d.digits) AS share FROM d
), t AS (
  SELECT s.*, s.od - sum(s.share) OVER (PARTITION BY s."orderId") AS rest FROM s
)
UPDATE "OrderItem" i SET "discount" = t.share + CASE WHEN t.rn = 1 THEN t.rest ELSE 0 END FROM t WHERE t."id" = i."id";
UPDATE "OrderItem" SET "payable" = "subtotal" - "discount";
ALTER TABLE "OrderItem" ALTER COLUMN "payable" SET NOT NULL;

-- CreateTable
CREATE TABLE "AfterSaleLine" (
    "afterSaleId" TEXT NOT NULL,
    "orderItemId" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "amount" DECIMAL(18,4) NOT NULL,

    CONSTRAINT "AfterSaleLine_pkey" PRIMARY KEY ("afterSaleId","orderItemId")
);

-- CreateIndex
CREATE INDEX "AfterSaleLine_orderItemId_idx" ON "AfterSaleLine"("orderItemId");

-- AddForeignKey
ALTER TABLE "AfterSaleLine" ADD CONSTRAINT "AfterSaleLine_afterSaleId_fkey" FOREIGN KEY ("afterSaleId") REFERENCES "AfterSale"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AfterSaleLine" ADD CONSTRAINT "AfterSaleLine_orderItemId_fkey" FOREIGN KEY ("orderItemId") REFERENCES "OrderItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A line never has more units under after-sales than it has, nor refunds more than it cost.
ALTER TABLE "OrderItem" ADD CONSTRAINT "OrderItem_afterSale_check" CHECK ("afterSaleQuantity" BETWEEN 0 AND "quantity" AND "afterSaleAmount" BETWEEN 0 AND "payable");
