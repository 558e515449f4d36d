/** Builds search documents from the database: one per SPU on shelf with at least one SKU. */
import { Decimal } from "@mallgraph/platform/money";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { SearchDoc } from "./types.ts";

export async function buildDocuments(prisma: PrismaClient, spuIds: string[]): Promise<{ docs: SearchDoc[]; removed: string[] }> {
  const ids = [...new Set(spuIds)];
  if (!ids.length) return { docs: [], removed: [] };
  const spus = await prisma.spu.findMany({
    where: { id: { in: ids } },
    include: {
      brand: true,
      attributes: { include: { attributeValue: { include: { attribute: { select: { searchable: true } } } } } },
      skus: {
        include: {
          inventory: true,
          attributes: { include: { attributeValue: { include: { attribute: { select: { searchable: true } } } } } },
        },
      },
    },
  });
  const docs: SearchDoc[] = [];
  const indexed = new Set<string>();
  for (const s of spus) {
    let cheapest = s.skus[0];
    if (s.status !== "ON_SHELF" || !cheapest) continue;
    for (const k of s.skus) if (new Decimal(k.price.toString()).lt(cheapest.price.toString())) cheapest = k;
    const values = new Set<string>();
    for (const a of s.attributes) if (a.attributeValue.attribute.searchable) values.add(a.attributeValueId);
    for (const k of s.skus) for (const a of k.attributes) if (a.attributeValue.attribute.searchable) values.add(a.attributeValueId);
    docs.push({
      spuId: s.id,
      title: s.title,
      categoryId: s.categoryId,
      brandId: s.brandId,
      brandName: s.brand?.name ?? null,
      brandLogo: s.brand?.logo ?? null,
      defaultImage: s.images[0] ?? cheapest.images[0] ?? null,
      minPrice: new Decimal(cheapest.price.toString()).toFixed(),
      currency: cheapest.currency,
      inStock: s.skus.some((k) => (k.inventory?.available ?? 0) > 0),
      onShelfAt: s.onShelfAt,
      sales: s.sales,
      attributeValueIds: [...values].sort(),
    });
    indexed.add(s.id);
  }
  return { docs, removed: ids.filter((id) => !indexed.has(id)) };
}
