import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Typed documents for every contract operation (schema/operations/*.graphql), with
 * @graphql-codegen/client-preset. The schema is the composed supergraph (always current after
 * `npm run compose`); only the types the operations use are emitted, which are public ones (the
 * manifest check already proves every operation valid), so the output equals what schema/api.graphql gives: `graphql("query Name …")` and the
 * `NameDocument` exports are TypedDocumentNodes that carry their result and variables types.
 */
const config: CodegenConfig = {
  schema: "../../schema/supergraph.graphql",
  documents: ["../../schema/operations/*.graphql"],
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    "src/generated/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: "string" },
        // the printed document of each operation must stay identical to the manifest's body
        documentMode: "documentNode",
      },
    },
  },
};
export default config;
