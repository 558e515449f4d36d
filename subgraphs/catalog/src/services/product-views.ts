/** Product and SKU views: the shapes the resolvers serve, built from Prisma rows (pure mapping). */
import { formatAmount } from "@mallgraph/platform/money";
import type { Prisma, SpuStatus } from "../generated/prisma/client.ts";

export interface AttrPair {
  attributeId: string;
  name: string;
  valueId: string;
  value: string;
  sort: number;
}

export interface SkuView {
  id: string;
  spuId: string;
  code: string;
  title: string;
  price: string;
  currency: string;
  images: string[];
  onShelf: boolean;
  stock: { available: number; reserved: number; sold: number };
  saleAttributes: AttrPair[];
}

export interface ProductView {
  id: string;
  title: string;
  subtitle: string | null;
  description: string | null;
  images: string[];
  status: SpuStatus;
  onShelfAt: Date | null;
  sales: number;
  category: { id: string; name: string; level: number; sort: number; parentId: string | null; children: [] };
  brand: { id: string; name: string; logo: string | null; description: string | null } | null;
  baseAttributes: AttrPair[];
  skus: SkuView[];
}

const attrInclude = { include: { attributeValue: { include: { attribute: true } } } } as const;
export const skuInclude = { inventory: true, attributes: attrInclude } satisfies Prisma.SkuInclude;
export const spuInclude = {
  brand: true,
  category: true,
  attributes: attrInclude,
  skus: { include: skuInclude, orderBy: [{ sort: "asc" }, { code: "asc" }] },
} satisfies Prisma.SpuInclude;

type SkuRow = Prisma.SkuGetPayload<{ include: typeof skuInclude }>;
type SpuRow = Prisma.SpuGetPayload<{ include: typeof spuInclude }>;

function pairs(
  rows: Array<{ attributeValue: { id: string; value: string; attribute: { id: string; name: string; sort: number } } }>,
): AttrPair[] {
  return rows
    .map((r) => ({
      attributeId: r.attributeValue.attribute.id,
      name: r.attributeValue.attribute.name,
      valueId: r.attributeValue.id,
      value: r.attributeValue.value,
      sort: r.attributeValue.attribute.sort,
    }))
    .sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name));
}

export function toSkuView(s: SkuRow, spuStatus: SpuStatus): SkuView {
  return {
    id: s.id,
    spuId: s.spuId,
    code: s.code,
    title: s.title,
    price: formatAmount(s.price, s.currency),
    currency: s.currency,
    images: s.images,
    onShelf: spuStatus === "ON_SHELF",
    stock: { available: s.inventory?.available ?? 0, reserved: s.inventory?.reserved ?? 0, sold: s.inventory?.sold ?? 0 },
    saleAttributes: pairs(s.attributes),
  };
}

export function toProductView(p: SpuRow): ProductView {
  return {
    id: p.id,
    title: p.title,
    subtitle: p.subtitle,
    description: p.description,
    images: p.images,
    status: p.status,
    onShelfAt: p.onShelfAt,
    sales: p.sales,
    category: {
      id: p.category.id,
      name: p.category.name,
      level: p.category.level,
      sort: p.category.sort,
      parentId: p.category.parentId,
      children: [],
    },
    brand: p.brand,
    baseAttributes: pairs(p.attributes),
    skus: p.skus.map((s) => toSkuView(s, p.status)),
  };
}

/** The cacheable part of a product view (no status, sales, stock; category by id). */
export interface StaticSku {
  id: string;
  spuId: string;
  code: string;
  title: string;
  price: string;
  currency: string;
  images: string[];
  saleAttributes: AttrPair[];
}
export interface StaticProduct {
  id: string;
  title: string;
  subtitle: string | null;
  description: string | null;
  images: string[];
  categoryId: string;
  brand: ProductView["brand"];
  baseAttributes: AttrPair[];
  skus: StaticSku[];
}

export function toStaticProduct(p: SpuRow): StaticProduct {
  const v = toProductView(p);
  return {
    id: v.id,
    title: v.title,
    subtitle: v.subtitle,
    description: v.description,
    images: v.images,
    categoryId: p.categoryId,
    brand: v.brand ? { id: v.brand.id, name: v.brand.name, logo: v.brand.logo, description: v.brand.description } : null,
    baseAttributes: v.baseAttributes,
    skus: v.skus.map(({ onShelf: _o, stock: _s, ...k }) => k),
  };
}

export interface SaleMatrix {
  attributes: Array<{ id: string; name: string; values: Array<{ id: string; value: string }> }>;
  combinations: Array<{ skuId: string; valueIds: string[]; price: string; available: number }>;
}

/** The sale-attribute axes of a product and which SKU each value combination is. */
export function saleMatrix(p: ProductView): SaleMatrix {
  const axes = new Map<string, { id: string; name: string; sort: number; values: Map<string, string> }>();
  for (const s of p.skus)
    for (const a of s.saleAttributes) {
      const axis = axes.get(a.attributeId) ?? { id: a.attributeId, name: a.name, sort: a.sort, values: new Map() };
      axis.values.set(a.valueId, a.value);
      axes.set(a.attributeId, axis);
    }
  const ordered = [...axes.values()].sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name));
  return {
    attributes: ordered.map((a) => ({ id: a.id, name: a.name, values: [...a.values].map(([id, value]) => ({ id, value })) })),
    combinations: p.skus.map((s) => ({
      skuId: s.id,
      valueIds: ordered.map((a) => s.saleAttributes.find((x) => x.attributeId === a.id)?.valueId ?? ""),
      price: s.price,
      available: s.stock.available,
    })),
  };
}
