import { Query } from "./Query.ts";
import { Mutation } from "./Mutation.ts";
import { RedEnvelopeRain } from "./RedEnvelopeRain.ts";
import { RedEnvelopeRainEvent } from "./RedEnvelopeRainEvent.ts";
import { LotteryActivity } from "./LotteryActivity.ts";
import { LotteryStrategy } from "./LotteryStrategy.ts";
import { LotteryDraw } from "./LotteryDraw.ts";
import { LotteryAward } from "./LotteryAward.ts";
import { RedEnvelopeGrabRecord } from "./RedEnvelopeGrabRecord.ts";

/** Subscription fields are served by the gateway from live events (docs/gateway.md), not here. */
export const resolvers = { Query, Mutation, RedEnvelopeRain, RedEnvelopeRainEvent, LotteryActivity, LotteryStrategy, LotteryDraw, LotteryAward, RedEnvelopeGrabRecord };
