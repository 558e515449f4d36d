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
        enumsAsTypes: true,
        useTypeImports: true,
        mappers: {
          RedEnvelopeRain: "../services/rain.ts#RainView",
          RedEnvelopeRainEvent: "../services/rain.ts#RainEventPayload",
          LotteryAward: "./prisma/client.ts#Award as AwardRow",
          LotteryActivity: "./prisma/client.ts#Activity as ActivityRow",
          LotteryActivitySku: "./prisma/client.ts#ActivitySku as ActivitySkuRow",
          LotteryDraw: "./prisma/client.ts#ParticipationOrder as ParticipationOrderRow",
          RedEnvelopeGrabRecord: "./prisma/client.ts#RedEnvelopeGrab as RedEnvelopeGrabRow",
          LotteryStrategy: "../services/setup.ts#StrategyWithAwards",
          PointsAccount: "./prisma/client.ts#PointsAccount as PointsAccountRow",
        },
      },
    },
  },
};
export default config;
