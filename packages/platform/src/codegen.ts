/**
 * The one GraphQL Code Generator setup of the subgraphs (their `codegen.ts` pass only what is their
 * own: mappers to their service types, the context type, scalars): resolver types with federation
 * support from `schema.graphql` into `src/generated/graphql.ts`. Build-time only.
 */
import type { CodegenConfig } from "@graphql-codegen/cli";

export interface SubgraphCodegenOptions {
  /** `../context.ts#Context`: the resolvers' context type. */
  contextType?: string;
  scalars?: Record<string, string>;
  /** GraphQL type → the TypeScript type its resolvers receive as parent (`../services/types.ts#OrderRecord`). */
  mappers?: Record<string, string>;
  mapperTypeSuffix?: string;
}

export function subgraphCodegen(own: SubgraphCodegenOptions): CodegenConfig {
  return {
    schema: "schema.graphql",
    generates: {
      "src/generated/graphql.ts": {
        plugins: ["typescript", "typescript-resolvers"],
        config: { federation: true, useIndexSignature: true, enumsAsTypes: true, useTypeImports: true, ...own },
      },
    },
  };
}
