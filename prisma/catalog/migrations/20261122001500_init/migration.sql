-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "catalog";

-- CreateEnum
CREATE TYPE "FrontCategoryKind" AS ENUM ('NORMAL', 'NEW', 'SECKILL', 'FULL_REDUCTION');

-- CreateEnum
CREATE TYPE "AttributeKind" AS ENUM ('BASE', 'SALE');

-- CreateEnum
CREATE TYPE "SpuStatus" AS ENUM ('DRAFT', 'ON_SHELF', 'OFF_SHELF');

-- CreateEnum
CREATE TYPE "ReservationStatus" AS ENUM ('PENDING', 'RELEASED', 'CONFIRMED');

-- CreateTable
CREATE TABLE "Category" (
    "id" TEXT NOT NULL,
    "parentId" TEXT,
    "name" TEXT NOT NULL,
    "level" INTEGER NOT NULL,
    "sort" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Category_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FrontCategory" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "sort" INTEGER NOT NULL DEFAULT 0,
    "kind" "FrontCategoryKind" NOT NULL DEFAULT 'NORMAL',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "FrontCategory_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FrontCategoryLink" (
    "frontCategoryId" TEXT NOT NULL,
    "categoryId" TEXT NOT NULL,

    CONSTRAINT "FrontCategoryLink_pkey" PRIMARY KEY ("frontCategoryId","categoryId")
);

-- CreateTable
CREATE TABLE "Brand" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "logo" TEXT,
    "description" TEXT,
    "sort" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Brand_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CategoryBrand" (
    "categoryId" TEXT NOT NULL,
    "brandId" TEXT NOT NULL,

    CONSTRAINT "CategoryBrand_pkey" PRIMARY KEY ("categoryId","brandId")
);

-- CreateTable
CREATE TABLE "Attribute" (
    "id" TEXT NOT NULL,
    "categoryId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "AttributeKind" NOT NULL,
    "searchable" BOOLEAN NOT NULL DEFAULT false,
    "sort" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Attribute_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AttributeValue" (
    "id" TEXT NOT NULL,
    "attributeId" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "sort" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "AttributeValue_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Spu" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "subtitle" TEXT,
    "description" TEXT,
    "images" TEXT[],
    "categoryId" TEXT NOT NULL,
    "brandId" TEXT,
    "status" "SpuStatus" NOT NULL DEFAULT 'DRAFT',
    "onShelfAt" TIMESTAMP(3),
    "sales" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Spu_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SpuAttributeValue" (
    "spuId" TEXT NOT NULL,
    "attributeValueId" TEXT NOT NULL,

    CONSTRAINT "SpuAttributeValue_pkey" PRIMARY KEY ("spuId","attributeValueId")
);

-- CreateTable
CREATE TABLE "Sku" (
    "id" TEXT NOT NULL,
    "spuId" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "price" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "images" TEXT[],
    "sort" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Sku_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SkuAttributeValue" (
    "skuId" TEXT NOT NULL,
    "attributeValueId" TEXT NOT NULL,

    CONSTRAINT "SkuAttributeValue_pkey" PRIMARY KEY ("skuId","attributeValueId")
);

-- CreateTable
CREATE TABLE "Inventory" (
    "skuId" TEXT NOT NULL,
    "available" INTEGER NOT NULL DEFAULT 0,
    "reserved" INTEGER NOT NULL DEFAULT 0,
    "sold" INTEGER NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Inventory_pkey" PRIMARY KEY ("skuId")
);

-- CreateTable
CREATE TABLE "InboundRecord" (
    "id" TEXT NOT NULL,
    "skuId" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "note" TEXT,
    "operatorId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InboundRecord_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Reservation" (
    "id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "status" "ReservationStatus" NOT NULL DEFAULT 'PENDING',
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Reservation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ReservationLine" (
    "reservationId" TEXT NOT NULL,
    "skuId" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,

    CONSTRAINT "ReservationLine_pkey" PRIMARY KEY ("reservationId","skuId")
);

-- CreateTable
CREATE TABLE "SearchDocument" (
    "spuId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "terms" TEXT NOT NULL,
    "categoryId" TEXT NOT NULL,
    "brandId" TEXT,
    "brandName" TEXT,
    "brandLogo" TEXT,
    "defaultImage" TEXT,
    "minPrice" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "inStock" BOOLEAN NOT NULL,
    "onShelfAt" TIMESTAMP(3),
    "sales" INTEGER NOT NULL,
    "attributeValueIds" TEXT[],
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SearchDocument_pkey" PRIMARY KEY ("spuId")
);

-- CreateTable
CREATE TABLE "SearchOutbox" (
    "id" BIGSERIAL NOT NULL,
    "spuId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processedAt" TIMESTAMP(3),

    CONSTRAINT "SearchOutbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Review" (
    "id" TEXT NOT NULL,
    "spuId" TEXT NOT NULL,
    "skuId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "orderId" TEXT NOT NULL,
    "rating" INTEGER NOT NULL,
    "content" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Review_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Category_parentId_idx" ON "Category"("parentId");

-- CreateIndex
CREATE INDEX "FrontCategoryLink_categoryId_idx" ON "FrontCategoryLink"("categoryId");

-- CreateIndex
CREATE UNIQUE INDEX "Brand_name_key" ON "Brand"("name");

-- CreateIndex
CREATE INDEX "CategoryBrand_brandId_idx" ON "CategoryBrand"("brandId");

-- CreateIndex
CREATE UNIQUE INDEX "Attribute_categoryId_name_key" ON "Attribute"("categoryId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "AttributeValue_attributeId_value_key" ON "AttributeValue"("attributeId", "value");

-- CreateIndex
CREATE INDEX "Spu_categoryId_idx" ON "Spu"("categoryId");

-- CreateIndex
CREATE INDEX "Spu_brandId_idx" ON "Spu"("brandId");

-- CreateIndex
CREATE INDEX "Spu_status_onShelfAt_idx" ON "Spu"("status", "onShelfAt");

-- CreateIndex
CREATE INDEX "SpuAttributeValue_attributeValueId_idx" ON "SpuAttributeValue"("attributeValueId");

-- CreateIndex
CREATE UNIQUE INDEX "Sku_code_key" ON "Sku"("code");

-- CreateIndex
CREATE INDEX "Sku_spuId_idx" ON "Sku"("spuId");

-- CreateIndex
CREATE INDEX "SkuAttributeValue_attributeValueId_idx" ON "SkuAttributeValue"("attributeValueId");

-- CreateIndex
CREATE INDEX "InboundRecord_skuId_idx" ON "InboundRecord"("skuId");

-- CreateIndex
CREATE UNIQUE INDEX "Reservation_key_key" ON "Reservation"("key");

-- CreateIndex
CREATE INDEX "Reservation_status_expiresAt_idx" ON "Reservation"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "ReservationLine_skuId_idx" ON "ReservationLine"("skuId");

-- CreateIndex
CREATE INDEX "SearchDocument_categoryId_idx" ON "SearchDocument"("categoryId");

-- CreateIndex
CREATE INDEX "SearchDocument_brandId_idx" ON "SearchDocument"("brandId");

-- CreateIndex
CREATE INDEX "SearchOutbox_processedAt_id_idx" ON "SearchOutbox"("processedAt", "id");

-- CreateIndex
CREATE INDEX "Review_spuId_createdAt_idx" ON "Review"("spuId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Review_orderId_skuId_memberId_key" ON "Review"("orderId", "skuId", "memberId");

-- AddForeignKey
ALTER TABLE "Category" ADD CONSTRAINT "Category_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Category"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FrontCategoryLink" ADD CONSTRAINT "FrontCategoryLink_frontCategoryId_fkey" FOREIGN KEY ("frontCategoryId") REFERENCES "FrontCategory"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FrontCategoryLink" ADD CONSTRAINT "FrontCategoryLink_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CategoryBrand" ADD CONSTRAINT "CategoryBrand_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CategoryBrand" ADD CONSTRAINT "CategoryBrand_brandId_fkey" FOREIGN KEY ("brandId") REFERENCES "Brand"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Attribute" ADD CONSTRAINT "Attribute_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AttributeValue" ADD CONSTRAINT "AttributeValue_attributeId_fkey" FOREIGN KEY ("attributeId") REFERENCES "Attribute"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Spu" ADD CONSTRAINT "Spu_categoryId_fkey" FOREIGN KEY ("categoryId") REFERENCES "Category"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Spu" ADD CONSTRAINT "Spu_brandId_fkey" FOREIGN KEY ("brandId") REFERENCES "Brand"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SpuAttributeValue" ADD CONSTRAINT "SpuAttributeValue_spuId_fkey" FOREIGN KEY ("spuId") REFERENCES "Spu"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SpuAttributeValue" ADD CONSTRAINT "SpuAttributeValue_attributeValueId_fkey" FOREIGN KEY ("attributeValueId") REFERENCES "AttributeValue"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Sku" ADD CONSTRAINT "Sku_spuId_fkey" FOREIGN KEY ("spuId") REFERENCES "Spu"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SkuAttributeValue" ADD CONSTRAINT "SkuAttributeValue_skuId_fkey" FOREIGN KEY ("skuId") REFERENCES "Sku"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SkuAttributeValue" ADD CONSTRAINT "SkuAttributeValue_attributeValueId_fkey" FOREIGN KEY ("attributeValueId") REFERENCES "AttributeValue"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Inventory" ADD CONSTRAINT "Inventory_skuId_fkey" FOREIGN KEY ("skuId") REFERENCES "Sku"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ReservationLine" ADD CONSTRAINT "ReservationLine_reservationId_fkey" FOREIGN KEY ("reservationId") REFERENCES "Reservation"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- ---------------------------------------------------------------- hand-written (not expressible in schema.prisma)

-- Invariants
ALTER TABLE "Category" ADD CONSTRAINT "Category_level_check" CHECK ("level" BETWEEN 1 AND 3);
ALTER TABLE "Inventory" ADD CONSTRAINT "Inventory_nonnegative_check" CHECK ("available" >= 0 AND "reserved" >= 0 AND "sold" >= 0);
ALTER TABLE "InboundRecord" ADD CONSTRAINT "InboundRecord_quantity_check" CHECK ("quantity" > 0);
ALTER TABLE "ReservationLine" ADD CONSTRAINT "ReservationLine_quantity_check" CHECK ("quantity" > 0);
ALTER TABLE "Sku" ADD CONSTRAINT "Sku_price_check" CHECK ("price" >= 0);
ALTER TABLE "Review" ADD CONSTRAINT "Review_rating_check" CHECK ("rating" BETWEEN 1 AND 5);

-- Search: trigram (Chinese and English substrings) + English full text + filters and sorts
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE INDEX "SearchDocument_title_trgm_idx" ON "SearchDocument" USING gin (lower("title") gin_trgm_ops);
-- (a stored column, not in schema.prisma: Prisma never writes it; the database keeps it)
ALTER TABLE "SearchDocument" ADD COLUMN "tsv" tsvector GENERATED ALWAYS AS (to_tsvector('english', "title")) STORED;
CREATE INDEX "SearchDocument_tsv_idx" ON "SearchDocument" USING gin ("tsv");
CREATE INDEX "SearchDocument_attrs_idx" ON "SearchDocument" USING gin ("attributeValueIds");
CREATE INDEX "SearchDocument_sales_idx" ON "SearchDocument" ("sales" DESC, "spuId");
CREATE INDEX "SearchDocument_onShelfAt_idx" ON "SearchDocument" ("onShelfAt" DESC, "spuId");
CREATE INDEX "SearchDocument_minPrice_idx" ON "SearchDocument" ("minPrice", "spuId");
CREATE INDEX "SearchOutbox_pending_idx" ON "SearchOutbox" ("id") WHERE "processedAt" IS NULL;

-- Inventory reservations: one statement each, all lines or none, idempotent per key.
-- Rows are locked in SKU id order (no deadlocks); a conditional UPDATE never takes stock below zero.

-- catalog_reserve(key, lines jsonb [{skuId, quantity}], ttlSeconds)
--   → (code OK|OUT_OF_STOCK|NOT_FOUND|OFF_SHELF|BAD_QUANTITY|RELEASED|CONFIRMED… , failed_sku_id, reservation_id, status, expires_at)
CREATE OR REPLACE FUNCTION catalog_reserve(p_key text, p_lines jsonb, p_ttl integer)
RETURNS TABLE (code text, failed_sku_id text, reservation_id text, status text, expires_at timestamp(3))
LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamp(3) := (now() AT TIME ZONE 'UTC');
  v_id text := gen_random_uuid()::text;
  v_exp timestamp(3);
  v_failed text;
  v_line record;
  v_spu text;
  v_status "SpuStatus";
  v_avail integer;
  v_n integer := 0;
  v_existing record;
BEGIN
  IF p_ttl IS NULL OR p_ttl <= 0 THEN
    RETURN QUERY SELECT 'BAD_QUANTITY'::text, NULL::text, NULL::text, NULL::text, NULL::timestamp(3);
    RETURN;
  END IF;
  v_exp := v_now + make_interval(secs => p_ttl);
  BEGIN
    INSERT INTO "Reservation" ("id", "key", "status", "expiresAt", "createdAt", "updatedAt")
    VALUES (v_id, p_key, 'PENDING', v_exp, v_now, v_now)
    ON CONFLICT ("key") DO NOTHING;
    IF NOT FOUND THEN
      SELECT r."id", r."status"::text AS st, r."expiresAt" INTO v_existing FROM "Reservation" r WHERE r."key" = p_key;
      RETURN QUERY SELECT (CASE WHEN v_existing.st = 'RELEASED' THEN 'RELEASED' ELSE 'OK' END)::text,
        NULL::text, v_existing."id", v_existing.st, v_existing."expiresAt";
      RETURN;
    END IF;
    FOR v_line IN
      SELECT l."skuId" AS sku, sum(l."quantity")::bigint AS qty, min(l."quantity") AS minq, count(*) AS n
      FROM jsonb_to_recordset(p_lines) AS l("skuId" text, "quantity" integer)
      GROUP BY l."skuId" ORDER BY l."skuId"
    LOOP
      v_failed := v_line.sku;
      IF v_line.sku IS NULL OR v_line.minq IS NULL OR v_line.minq <= 0 OR v_line.qty > 2147483647 THEN
        RAISE EXCEPTION 'BAD_QUANTITY';
      END IF;
      SELECT s."id", s."status" INTO v_spu, v_status FROM "Sku" k JOIN "Spu" s ON s."id" = k."spuId" WHERE k."id" = v_line.sku;
      IF NOT FOUND THEN RAISE EXCEPTION 'NOT_FOUND'; END IF;
      IF v_status <> 'ON_SHELF' THEN RAISE EXCEPTION 'OFF_SHELF'; END IF;
      UPDATE "Inventory" SET "available" = "available" - v_line.qty, "reserved" = "reserved" + v_line.qty, "updatedAt" = v_now
      WHERE "skuId" = v_line.sku AND "available" >= v_line.qty
      RETURNING "available" INTO v_avail;
      IF NOT FOUND THEN RAISE EXCEPTION 'OUT_OF_STOCK'; END IF;
      INSERT INTO "ReservationLine" ("reservationId", "skuId", "quantity") VALUES (v_id, v_line.sku, v_line.qty);
      IF v_avail = 0 THEN INSERT INTO "SearchOutbox" ("spuId") VALUES (v_spu); END IF;
      v_n := v_n + 1;
    END LOOP;
    IF v_n = 0 THEN v_failed := NULL; RAISE EXCEPTION 'BAD_QUANTITY'; END IF;
    RETURN QUERY SELECT 'OK'::text, NULL::text, v_id, 'PENDING'::text, v_exp;
  EXCEPTION WHEN raise_exception THEN
    -- the block's writes (reservation row, earlier lines) are rolled back
    RETURN QUERY SELECT SQLERRM::text, v_failed, NULL::text, NULL::text, NULL::timestamp(3);
  END;
END;
$$;

-- catalog_release(key) → (changed: released by this call, status after the call).
-- An unknown key leaves a RELEASED tombstone so that a late reserve under that key reserves nothing.
CREATE OR REPLACE FUNCTION catalog_release(p_key text)
RETURNS TABLE (changed boolean, status text)
LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamp(3) := (now() AT TIME ZONE 'UTC');
  v_id text;
  v_line record;
  v_avail integer;
  v_st text;
BEGIN
  UPDATE "Reservation" r SET "status" = 'RELEASED', "updatedAt" = v_now
  WHERE r."key" = p_key AND r."status" = 'PENDING' RETURNING r."id" INTO v_id;
  IF NOT FOUND THEN
    INSERT INTO "Reservation" ("id", "key", "status", "expiresAt", "createdAt", "updatedAt")
    VALUES (gen_random_uuid()::text, p_key, 'RELEASED', v_now, v_now, v_now)
    ON CONFLICT ("key") DO NOTHING;
    SELECT r."status"::text INTO v_st FROM "Reservation" r WHERE r."key" = p_key;
    RETURN QUERY SELECT false, v_st;
    RETURN;
  END IF;
  FOR v_line IN SELECT l."skuId" AS sku, l."quantity" AS qty, k."spuId" AS spu
    FROM "ReservationLine" l JOIN "Sku" k ON k."id" = l."skuId" WHERE l."reservationId" = v_id ORDER BY l."skuId"
  LOOP
    UPDATE "Inventory" SET "available" = "available" + v_line.qty, "reserved" = "reserved" - v_line.qty, "updatedAt" = v_now
    WHERE "skuId" = v_line.sku RETURNING "available" INTO v_avail;
    IF v_avail = v_line.qty THEN INSERT INTO "SearchOutbox" ("spuId") VALUES (v_line.spu); END IF;
  END LOOP;
  RETURN QUERY SELECT true, 'RELEASED'::text;
END;
$$;

-- catalog_confirm(key) → (changed: confirmed by this call, status after the call). reserved → sold.
CREATE OR REPLACE FUNCTION catalog_confirm(p_key text)
RETURNS TABLE (changed boolean, status text)
LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamp(3) := (now() AT TIME ZONE 'UTC');
  v_id text;
  v_line record;
  v_st text;
BEGIN
  UPDATE "Reservation" r SET "status" = 'CONFIRMED', "updatedAt" = v_now
  WHERE r."key" = p_key AND r."status" = 'PENDING' RETURNING r."id" INTO v_id;
  IF NOT FOUND THEN
    SELECT r."status"::text INTO v_st FROM "Reservation" r WHERE r."key" = p_key;
    RETURN QUERY SELECT false, v_st;
    RETURN;
  END IF;
  FOR v_line IN SELECT l."skuId" AS sku, l."quantity" AS qty, k."spuId" AS spu
    FROM "ReservationLine" l JOIN "Sku" k ON k."id" = l."skuId" WHERE l."reservationId" = v_id ORDER BY l."skuId"
  LOOP
    UPDATE "Inventory" SET "reserved" = "reserved" - v_line.qty, "sold" = "sold" + v_line.qty, "updatedAt" = v_now
    WHERE "skuId" = v_line.sku;
    UPDATE "Spu" SET "sales" = "sales" + v_line.qty WHERE "id" = v_line.spu;
    INSERT INTO "SearchOutbox" ("spuId") VALUES (v_line.spu);
  END LOOP;
  RETURN QUERY SELECT true, 'CONFIRMED'::text;
END;
$$;
