import type { CodegenConfig } from "@graphql-codegen/cli";

const prismaType = (name: string) => `./prisma/client.ts#${name} as ${name}Row`;

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
        mappers: {
          Payment: prismaType("Payment"),
          Refund: prismaType("Refund"),
          Payout: prismaType("Payout"),
          Organization: prismaType("Organization"),
          OrganizationMember: prismaType("OrganizationMember"),
          Merchant: prismaType("Merchant"),
          MerchantAccount: prismaType("MerchantAccount"),
          PaymentApp: prismaType("PaymentApp"),
          ChannelConfig: prismaType("ChannelConfig"),
          CallbackAnomaly: prismaType("CallbackAnomaly"),
          ReconciliationReport: "../services/reports.ts#ReportWithDiffs",
          PaymentStatusEvent: "../services/payments.ts#PaymentEventModel",
        },
      },
    },
  },
};
export default config;
