import { subgraphCodegen } from "@mallgraph/platform/codegen";

export default subgraphCodegen({
  contextType: "../context.ts#Context",
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
});
