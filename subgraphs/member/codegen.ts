import { subgraphCodegen } from "@mallgraph/platform/codegen";

export default subgraphCodegen({
  contextType: "../context.ts#Context",
  scalars: { DateTime: "string" },
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
});
