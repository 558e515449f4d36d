/**
 * Editing products: creating SPUs with their SKUs, changing them and adding SKUs, with validation
 * (category leaf, attribute kinds, one value combination per SKU, one currency per SPU, exact
 * prices). Every change that affects a search document writes a search-outbox row in the same
 * transaction, and moves the cache versions the reads depend on.
 */
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { defined } from "@mallgraph/platform/errors";
import { Decimal, formatAmount, parseAmount } from "@mallgraph/platform/money";
import { Reason, alreadyExists, assertQuantity, assertText, notFound, refuse } from "../errors.ts";
import type { SpuStatus } from "../generated/prisma/client.ts";
import type { CategoryService } from "./categories.ts";
import { touchSearch, type Deps, type Tx } from "./deps.ts";
import type { ProductReads } from "./product-reads.ts";
import type { ProductView, SkuView } from "./product-views.ts";

export interface SkuInput {
  code: string;
  title: string;
  price: string;
  currency: string;
  images?: string[] | null;
  saleAttributeValueIds?: string[] | null;
  initialStock?: number | null;
}

export interface ProductInput {
  title: string;
  subtitle?: string | null;
  description?: string | null;
  images?: string[] | null;
  categoryId: string;
  brandId?: string | null;
  baseAttributeValueIds?: string[] | null;
  skus?: SkuInput[] | null;
}

export interface ProductUpdate {
  title?: string | null;
  subtitle?: string | null;
  description?: string | null;
  images?: string[] | null;
  brandId?: string | null;
  baseAttributeValueIds?: string[] | null;
}

export interface SkuUpdate {
  title?: string | null;
  price?: string | null;
  currency?: string | null;
  images?: string[] | null;
}

/** Prices are stored as Decimal(18,4): at most 14 integer digits. */
const PRICE_LIMIT = new Decimal("1e14");

/** A SKU price: exact, no more decimals than the currency has, and within the column's range. */
function skuPrice(value: string, currency: string): string {
  const d = parseAmount(value, currency, { field: "price", allowZero: true });
  if (d.gte(PRICE_LIMIT)) throw refuse(Reason.BAD_PRICE, "price must be below 100000000000000", { field: "price" });
  return d.toString();
}

/** A product transaction; a unique violation in it is a taken SKU code. */
export async function productTx<T>(d: Deps, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await d.prisma.$transaction(fn, { timeout: 20_000 });
  } catch (e) {
    if (isUniqueViolation(e)) throw alreadyExists(Reason.SKU_CODE_TAKEN, "a SKU code is taken");
    throw e;
  }
}

export class ProductEditor {
  constructor(
    private readonly d: Deps,
    private readonly categories: CategoryService,
    private readonly reads: ProductReads,
  ) {}

  private async checkAttributeValues(tx: Tx, categoryId: string, ids: string[], kind: "BASE" | "SALE", field: string) {
    const unique = [...new Set(ids)];
    if (!unique.length) return [];
    const values = await tx.attributeValue.findMany({ where: { id: { in: unique } }, include: { attribute: true } });
    if (values.length !== unique.length)
      throw notFound(
        "attribute value",
        unique.find((id) => !values.some((v) => v.id === id)),
      );
    for (const v of values) {
      if (v.attribute.categoryId !== categoryId || v.attribute.kind !== kind)
        throw refuse(Reason.ATTRIBUTE_MISMATCH, `${field}: value ${v.id} is not a ${kind} attribute value of the product's category`, {
          field,
        });
    }
    const perAttr = new Set(values.map((v) => v.attributeId));
    if (perAttr.size !== values.length) throw refuse(Reason.ATTRIBUTE_MISMATCH, `${field}: one value per attribute`, { field });
    return values;
  }

  private images(v: string[] | null | undefined, field: string): string[] {
    const list = v ?? [];
    if (list.length > 20) throw refuse(Reason.BAD_QUANTITY, `${field}: at most 20 images`, { field });
    return list.map((u, i) => assertText(u, `${field}[${i}]`, 1000));
  }

  private async addSkuTx(
    tx: Tx,
    spu: { id: string; categoryId: string; status: SpuStatus },
    input: SkuInput,
    sort: number,
  ): Promise<string> {
    const code = assertText(input.code, "code", 64);
    const title = assertText(input.title, "title", 300);
    const currency = assertText(input.currency, "currency", 8);
    const price = skuPrice(input.price, currency);
    const stock = assertQuantity(input.initialStock ?? 0, "initialStock", { allowZero: true });
    const values = await this.checkAttributeValues(tx, spu.categoryId, input.saleAttributeValueIds ?? [], "SALE", "saleAttributeValueIds");
    if (values.length) {
      // the same value combination must not name two SKUs of one SPU
      const want = values
        .map((v) => v.id)
        .sort()
        .join(",");
      const siblings = await tx.sku.findMany({ where: { spuId: spu.id }, include: { attributes: true } });
      if (
        siblings.some(
          (s) =>
            s.attributes
              .map((a) => a.attributeValueId)
              .sort()
              .join(",") === want,
        )
      )
        throw refuse(Reason.ATTRIBUTE_MISMATCH, "another SKU of this product has the same sale attribute values");
    }
    // one currency per SPU: the lowest price (product detail, search) compares SKU prices
    const other = await tx.sku.findFirst({ where: { spuId: spu.id, currency: { not: currency } }, select: { currency: true } });
    if (other) throw refuse(Reason.CURRENCY_MISMATCH, `the SKUs of this product are priced in ${other.currency}`, { field: "currency" });
    if (await tx.sku.findUnique({ where: { code } })) throw alreadyExists(Reason.SKU_CODE_TAKEN, `SKU code ${code} is taken`);
    const sku = await tx.sku.create({
      data: { spuId: spu.id, code, title, price, currency, images: this.images(input.images, "images"), sort },
    });
    if (values.length) await tx.skuAttributeValue.createMany({ data: values.map((v) => ({ skuId: sku.id, attributeValueId: v.id })) });
    await tx.inventory.create({ data: { skuId: sku.id, available: stock } });
    if (stock > 0) await tx.inboundRecord.create({ data: { skuId: sku.id, quantity: stock, note: "initial stock" } });
    if (spu.status === "ON_SHELF") await touchSearch(tx, [spu.id]);
    await this.reads.cache.invalidate([spu.id]);
    await this.reads.live.bump([spu.id]); // the new SKU's stock
    return sku.id;
  }

  private tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return productTx(this.d, fn);
  }

  async create(input: ProductInput): Promise<ProductView> {
    const title = assertText(input.title, "title", 300);
    const id = await this.tx(async (tx) => {
      await this.categories.requireLeaf(tx, input.categoryId);
      if (input.brandId && !(await tx.brand.findUnique({ where: { id: input.brandId } }))) throw notFound("brand", input.brandId);
      const base = await this.checkAttributeValues(
        tx,
        input.categoryId,
        input.baseAttributeValueIds ?? [],
        "BASE",
        "baseAttributeValueIds",
      );
      const spu = await tx.spu.create({
        data: {
          title,
          subtitle: input.subtitle ?? null,
          description: input.description ?? null,
          images: this.images(input.images, "images"),
          categoryId: input.categoryId,
          brandId: input.brandId ?? null,
        },
      });
      if (base.length) await tx.spuAttributeValue.createMany({ data: base.map((v) => ({ spuId: spu.id, attributeValueId: v.id })) });
      let sort = 0;
      for (const s of input.skus ?? []) await this.addSkuTx(tx, spu, s, sort++);
      return spu.id;
    });
    return defined((await this.reads.loadProducts([id]))[0], `product ${id}`);
  }

  async update(id: string, input: ProductUpdate): Promise<ProductView> {
    await this.tx(async (tx) => {
      const spu = await tx.spu.findUnique({ where: { id } });
      if (!spu) throw notFound("product", id);
      if (input.brandId && !(await tx.brand.findUnique({ where: { id: input.brandId } }))) throw notFound("brand", input.brandId);
      await tx.spu.update({
        where: { id },
        data: {
          title: input.title == null ? undefined : assertText(input.title, "title", 300),
          subtitle: input.subtitle === undefined ? undefined : input.subtitle,
          description: input.description === undefined ? undefined : input.description,
          images: input.images == null ? undefined : this.images(input.images, "images"),
          brandId: input.brandId === undefined ? undefined : input.brandId,
        },
      });
      if (input.baseAttributeValueIds) {
        const base = await this.checkAttributeValues(tx, spu.categoryId, input.baseAttributeValueIds, "BASE", "baseAttributeValueIds");
        await tx.spuAttributeValue.deleteMany({ where: { spuId: id } });
        await tx.spuAttributeValue.createMany({ data: base.map((v) => ({ spuId: id, attributeValueId: v.id })) });
      }
      await touchSearch(tx, [id]);
      await this.reads.cache.invalidate([id]);
    });
    await this.reads.cache.invalidate([id]);
    return defined((await this.reads.loadProducts([id]))[0], `product ${id}`);
  }

  async addSku(spuId: string, input: SkuInput): Promise<SkuView> {
    const skuId = await this.tx(async (tx) => {
      // the SPU row lock serializes SKU additions: sale-attribute combination and currency checks hold under concurrency
      await tx.$queryRaw`SELECT 1 FROM "Spu" WHERE "id" = ${spuId} FOR UPDATE`;
      const spu = await tx.spu.findUnique({ where: { id: spuId } });
      if (!spu) throw notFound("product", spuId);
      const n = await tx.sku.count({ where: { spuId } });
      return this.addSkuTx(tx, spu, input, n);
    });
    await this.reads.cache.invalidate([spuId]);
    await this.reads.live.bumpAfterCommit([spuId]);
    return defined((await this.reads.loadSkus([skuId]))[0], `sku ${skuId}`);
  }

  async updateSku(id: string, input: SkuUpdate): Promise<SkuView> {
    await this.tx(async (tx) => {
      const sku = await tx.sku.findUnique({ where: { id } });
      if (!sku) throw notFound("SKU", id);
      const currency = input.currency == null ? sku.currency : assertText(input.currency, "currency", 8);
      const price = input.price == null ? undefined : skuPrice(input.price, currency);
      if (input.currency != null && input.price == null)
        parseAmount(formatAmount(sku.price, sku.currency), currency, { field: "price", allowZero: true });
      if (currency !== sku.currency) await tx.$queryRaw`SELECT 1 FROM "Spu" WHERE "id" = ${sku.spuId} FOR UPDATE`;
      if (currency !== sku.currency && (await tx.sku.count({ where: { spuId: sku.spuId, id: { not: id }, currency: { not: currency } } })))
        throw refuse(Reason.CURRENCY_MISMATCH, `the other SKUs of this product are priced in ${sku.currency}`, { field: "currency" });
      await tx.sku.update({
        where: { id },
        data: {
          title: input.title == null ? undefined : assertText(input.title, "title", 300),
          price,
          currency,
          images: input.images == null ? undefined : this.images(input.images, "images"),
        },
      });
      await touchSearch(tx, [sku.spuId]);
      await this.reads.cache.invalidate([sku.spuId]);
      return sku.spuId;
    }).then((spuId) => this.reads.cache.invalidate([spuId]));
    return defined((await this.reads.loadSkus([id]))[0], `sku ${id}`);
  }
}
