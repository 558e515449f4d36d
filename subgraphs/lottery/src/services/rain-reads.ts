/** A rain as clients see it: the stored campaign with its status, live counts while it runs. */
import { Prisma, type RedEnvelopeRain } from "../generated/prisma/client.ts";
import { fromMinor, type RainContext, type RainStatus, type RainView } from "./rain-shared.ts";

export class RainReads {
  constructor(private readonly c: RainContext) {}

  async get(id: string): Promise<RainView | null> {
    const rain = await this.c.d.prisma.redEnvelopeRain.findUnique({ where: { id } });
    return rain ? this.view(rain) : null;
  }

  /** The stored rain with its status; while it runs, grabbedAmount and grabbedCount are live (Redis). */
  async view(rain: RedEnvelopeRain): Promise<RainView> {
    const now = this.c.now();
    const status: RainStatus = rain.closedAt
      ? "CLOSED"
      : now < rain.startsAt.getTime()
        ? "SCHEDULED"
        : now < rain.endsAt.getTime()
          ? "ONLINE"
          : "ENDED";
    if (rain.closedAt) return { ...rain, status, remainingShares: rain.shares - (rain.grabbedCount ?? 0) };
    const [remaining, grabbedMinor] = await this.c.d.redis.hmget(this.c.keys.meta(rain.id), "remaining", "grabbedMinor");
    const left = Number(remaining ?? 0);
    const grabbed = new Prisma.Decimal(fromMinor(grabbedMinor ?? 0, rain.currency).toFixed());
    return { ...rain, status, remainingShares: left, grabbedAmount: grabbed, grabbedCount: rain.shares - left };
  }
}
