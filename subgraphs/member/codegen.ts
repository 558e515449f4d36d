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
        scalars: { DateTime: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};
export default config;
