import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-resolvers"],
      config: {
        federation: true,
        useIndexSignature: true,
        contextType: "../context.ts#Context",
        scalars: { DateTime: "Date | string" },
        enumsAsTypes: true,
        useTypeImports: true,
        mappers: {
          Product: "../services/products.ts#ProductView",
          Sku: "../services/products.ts#SkuView",
          Category: "../services/categories.ts#CategoryNode",
          FrontCategory: "../services/taxonomy.ts#FrontCategoryRow",
          Brand: "./prisma/client.ts#Brand as BrandRow",
          Review: "./prisma/client.ts#Review as ReviewRow",
          ProductSearchItem: "../search/service.ts#SearchItem",
        },
      },
    },
  },
};
export default config;
