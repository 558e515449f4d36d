import { subgraphCodegen } from "@mallgraph/platform/codegen";

const prismaType = (name: string) => `./prisma/client.ts#${name} as ${name}Row`;

export default subgraphCodegen({
  contextType: "../context.ts#Context",
  scalars: { DateTime: "string" },
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
});
