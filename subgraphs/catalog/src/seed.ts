/**
 * Demo data for `npm start`: the generated catalog (seed-data.ts) written with batched, idempotent
 * inserts (createMany + skipDuplicates: a second run adds nothing and keeps changed stock), then
 * the search documents built directly so search works at once, and the category cache invalidated.
 */
import { loadConfig, databaseUrlOf, type Config } from "@mallgraph/platform/config";
import { createRedis } from "@mallgraph/platform/redis";
import { createPrisma } from "./index.ts";
import { buildDocuments } from "./search/documents.ts";
import { generateCatalog } from "./seed-data.ts";
import { buildCatalogServices } from "./services/index.ts";

export async function seed(config: Config, opts: { databaseUrl?: string; spus?: number } = {}): Promise<string> {
  const prisma = createPrisma({ config, databaseUrl: opts.databaseUrl ?? databaseUrlOf(config, "catalog") });
  const redis = createRedis(config.REDIS_URL);
  const services = buildCatalogServices({ config, prisma, redis });
  try {
    const d = generateCatalog({ spus: opts.spus });
    const skip = { skipDuplicates: true } as const;
    await prisma.$transaction(
      async (tx) => {
        for (const level of [1, 2, 3]) await tx.category.createMany({ data: d.categories.filter((c) => c.level === level), ...skip });
        await tx.brand.createMany({ data: d.brands, ...skip });
        await tx.categoryBrand.createMany({ data: d.categoryBrands, ...skip });
        await tx.attribute.createMany({ data: d.attributes, ...skip });
        await tx.attributeValue.createMany({ data: d.attributeValues, ...skip });
        await tx.spu.createMany({ data: d.spus, ...skip });
        await tx.spuAttributeValue.createMany({ data: d.spuAttributeValues, ...skip });
        await tx.sku.createMany({ data: d.skus, ...skip });
        await tx.skuAttributeValue.createMany({ data: d.skuAttributeValues, ...skip });
        await tx.inventory.createMany({ data: d.inventory, ...skip });
        await tx.inboundRecord.createMany({
          data: d.inventory
            .filter((i) => i.available > 0)
            .map((i) => ({ id: `seed-inbound-${i.skuId}`, skuId: i.skuId, quantity: i.available, note: "demo opening stock" })),
          ...skip,
        });
        await tx.frontCategory.createMany({ data: d.frontCategories.map(({ backCategoryIds: _b, ...f }) => f), ...skip });
        await tx.frontCategoryLink.createMany({
          data: d.frontCategories.flatMap((f) => f.backCategoryIds.map((categoryId) => ({ frontCategoryId: f.id, categoryId }))),
          ...skip,
        });
      },
      { timeout: 120_000, maxWait: 10_000 },
    );
    await services.categories.bumpVersion();
    // search documents, built directly (the outbox covers later changes)
    const ids = d.spus.map((s) => s.id);
    let indexed = 0;
    for (let i = 0; i < ids.length; i += 250) {
      const { docs, removed } = await buildDocuments(prisma, ids.slice(i, i + 250));
      await services.search.backend.index(docs);
      if (removed.length) await services.search.backend.remove(removed);
      indexed += docs.length;
    }
    const [cats, brands, spus, skus] = await Promise.all([
      prisma.category.count(),
      prisma.brand.count(),
      prisma.spu.count(),
      prisma.sku.count(),
    ]);
    return `${cats} categories, ${brands} brands, ${spus} SPUs, ${skus} SKUs, ${indexed} search documents (${services.search.backend.name})`;
  } finally {
    await prisma.$disconnect();
    redis.disconnect();
    await (services.search.backend as { close?: () => Promise<void> }).close?.();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  seed(loadConfig())
    .then((s) => {
      console.log(`seeded catalog: ${s}`);
      process.exit(0);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
