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
        mapperTypeSuffix: "Model",
        mappers: {
          Member: "./prisma/client.ts#Member",
          Address: "./prisma/client.ts#Address",
          AddressSnapshot: "./prisma/client.ts#Address",
          Message: "./prisma/client.ts#Message",
          InboxMessage: "./prisma/client.ts#InboxMessage",
          InboxPage: "../services/inbox.ts#InboxPage",
          Wallet: "../services/wallet.ts#WalletView",
          Operator: "../services/admin.ts#OperatorView",
          Role: "../services/admin.ts#RoleView",
          SessionEvent: "../services/sessions.ts#SessionEventPayload",
        },
      },
    },
  },
};
export default config;
