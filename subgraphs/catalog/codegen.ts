import { subgraphCodegen } from "@mallgraph/platform/codegen";

export default subgraphCodegen({
  contextType: "../context.ts#Context",
  scalars: { DateTime: "Date | string" },
  mappers: {
    Product: "../services/products.ts#ProductView",
    Sku: "../services/products.ts#SkuView",
    Category: "../services/categories.ts#CategoryNode",
    FrontCategory: "../services/taxonomy.ts#FrontCategoryRow",
    Brand: "./prisma/client.ts#Brand as BrandRow",
    Review: "./prisma/client.ts#Review as ReviewRow",
    ProductSearchItem: "../search/service.ts#SearchItem",
  },
});
