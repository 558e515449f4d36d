import { LotteryActivity } from "./LotteryActivity.ts";
import { LotteryAward } from "./LotteryAward.ts";
import { LotteryDraw } from "./LotteryDraw.ts";
import { LotteryStrategy } from "./LotteryStrategy.ts";
import { Mutation } from "./Mutation.ts";
import { Query } from "./Query.ts";
import { RedEnvelopeGrabRecord } from "./RedEnvelopeGrabRecord.ts";
import { RedEnvelopeRain } from "./RedEnvelopeRain.ts";
import { RedEnvelopeRainEvent } from "./RedEnvelopeRainEvent.ts";

/** Subscription fields are served by the gateway from live events (docs/gateway.md), not here. */
export const resolvers = {
  Query,
  Mutation,
  RedEnvelopeRain,
  RedEnvelopeRainEvent,
  LotteryActivity,
  LotteryStrategy,
  LotteryDraw,
  LotteryAward,
  RedEnvelopeGrabRecord,
};
