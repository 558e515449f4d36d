/**
 * The daily notice of coupons about to expire: every UNUSED coupon whose validity ends within
 * `withinDays` gets one COUPON_EXPIRING member message, written into the promotion outbox under the
 * key `msg.coupon-expiring.<couponId>` — a second run (or a retried one) writes nothing new. The
 * outbox keeps sent rows 7 days, longer than the 3-day window, so the key is never forgotten while
 * the coupon can still be picked.
 */
import { defined } from "@mallgraph/platform/errors";
import { writeOutbox, memberMessage, type OutboxRelay } from "@mallgraph/platform/outbox";
import type { PrismaClient } from "../generated/prisma/client.ts";

const DAY_MS = 24 * 3600 * 1000;
/** Dates in messages are China's calendar (UTC+8). */
const CHINA_OFFSET_MS = 8 * 3600 * 1000;

export function chinaTime(d: Date): string {
  return new Date(d.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 16).replace("T", " ");
}

export class CouponExpiryNotices {
  constructor(private readonly d: { prisma: PrismaClient; relay: OutboxRelay }) {}

  /** Writes the notices due at `now`; returns how many coupons were looked at. */
  async notify(now = new Date(), withinDays = 3, batch = 500): Promise<number> {
    let after = "";
    let seen = 0;
    for (;;) {
      const coupons = await this.d.prisma.coupon.findMany({
        where: { status: "UNUSED", validTo: { gt: now, lte: new Date(now.getTime() + withinDays * DAY_MS) }, id: { gt: after } },
        orderBy: { id: "asc" },
        take: batch,
        select: { id: true, memberId: true, validTo: true, template: { select: { name: true } } },
      });
      if (!coupons.length) break;
      await this.d.prisma.$transaction((tx) =>
        writeOutbox(
          tx,
          coupons.map((c) =>
            memberMessage(`coupon-expiring.${c.id}`, c.memberId, "COUPON_EXPIRING", {
              couponId: c.id,
              title: c.template.name,
              expiresAt: chinaTime(c.validTo),
            }),
          ),
        ),
      );
      seen += coupons.length;
      after = defined(coupons.at(-1), "the batch's last coupon").id;
      if (coupons.length < batch) break;
    }
    await this.d.relay.flush();
    return seen;
  }
}
