/**
 * Award delivery: what a won award becomes (decision 0021).
 * - POINTS: the points account is credited (reference `award:<drawId>`);
 * - COUPON: promotion's `couponGrant(member, template, reference "lottery:<drawId>")` — idempotent per
 *   draw, so a retried job never grants twice; the coupon id is kept on the draw;
 * - GOODS: order's `orderCreatePrize(drawId, member, sku, address)` — a PRIZE order (price 0, PAID) to
 *   the address the member named, else the default one; without one the draw waits as
 *   AWAITING_ADDRESS until `claimPrize(drawId, addressId)`;
 * - NONE: nothing to hand over.
 * The `distribute-award` job runs it with exponential backoff (LOTTERY_DELIVERY_ATTEMPTS attempts,
 * LOTTERY_DELIVERY_BACKOFF_MS first delay); a failure on its last attempt, or a refusal retrying
 * cannot change (unknown template or SKU, sold-out template), makes the draw FAILED, which operators
 * see and retry (`adminRetryDrawDelivery`). Delivered draws write a `lottery.prize-delivered`
 * domain event (LotteryEvent outbox) in the same transaction.
 */
import { AppError, ErrorCode } from "@mallgraph/platform/errors";
import type { Logger } from "@mallgraph/platform/log";
import type { Queue } from "@mallgraph/platform/queue";
import { DeliveryCode } from "../errors.ts";
import type { PrismaClient, ParticipationOrder, Award, Prisma } from "../generated/prisma/client.ts";
import { prizeDeliveredMessage } from "./messages.ts";
import type { PointsService } from "./points.ts";
import type { CouponPort, PrizeOrderPort } from "./ports.ts";

export const PRIZE_DELIVERED_TOPIC = "lottery.prize-delivered";

export interface DeliveryBudget {
  /** Attempts of one delivery job (BullMQ), the first included. */
  attempts: number;
  /** First retry delay (ms); doubled each retry. */
  backoffMs: number;
}

export interface AwardDeliveryDeps {
  prisma: PrismaClient;
  queue: Queue;
  points: PointsService;
  coupons: CouponPort;
  prizes: PrizeOrderPort;
  budget: DeliveryBudget;
  log: Logger;
  now: () => number;
}

export type DeliveryState = ParticipationOrder["delivery"];

/** What one delivery attempt ended as (ALREADY_DELIVERED / SKIPPED: nothing was done). */
export type DeliveryRun = DeliveryState | "ALREADY_DELIVERED" | "SKIPPED";

export interface DeliveryOutcome {
  code: DeliveryCode;
  draw: ParticipationOrder | null;
}

/** A refusal that retrying cannot change: the draw is FAILED at once. */
class Refused extends Error {}

/** Errors of other services that a retry cannot fix. */
const PERMANENT = new Set<string>([ErrorCode.NOT_FOUND, ErrorCode.BAD_USER_INPUT]);

export class AwardDelivery {
  constructor(private readonly d: AwardDeliveryDeps) {}

  /** Enqueues the delivery job of a draw (`key` makes its job id: the same key is one job). */
  async enqueue(drawId: string, key: string, delayMs = 0): Promise<void> {
    const { attempts, backoffMs } = this.d.budget;
    await this.d.queue.add(
      "distribute-award",
      { orderId: drawId },
      { jobId: `award-${key}`, attempts, delay: delayMs, backoff: { type: "exponential", delay: backoffMs } },
    );
  }

  /**
   * One delivery attempt of a PENDING draw (idempotent). `final`: the job's last attempt — a failure
   * then makes the draw FAILED instead of throwing for a retry.
   */
  async run(drawId: string, final = false): Promise<DeliveryRun> {
    const p = this.d.prisma;
    const draw = await p.participationOrder.findUniqueOrThrow({ where: { id: drawId } });
    if (draw.delivery === "DELIVERED") return "ALREADY_DELIVERED";
    // Waiting for an address, or failed (operators retry it): a stale job does nothing.
    if (draw.delivery !== "PENDING") return "SKIPPED";
    if (!draw.awardId) throw new Error(`draw ${drawId} has no award yet`);
    const award = await p.award.findUniqueOrThrow({ where: { id: draw.awardId } });
    await p.participationOrder.update({ where: { id: drawId }, data: { deliveryAttempts: { increment: 1 } } });
    try {
      const patch = await this.handOver(draw, award);
      if (patch === "AWAITING_ADDRESS") {
        await p.participationOrder.updateMany({
          where: { id: drawId, delivery: "PENDING" },
          data: { delivery: "AWAITING_ADDRESS", addressId: null, deliveryError: draw.addressId ? DeliveryCode.ADDRESS_NOT_FOUND : null },
        });
        return "AWAITING_ADDRESS";
      }
      return await this.markDelivered(draw, award, patch);
    } catch (e) {
      const code = e instanceof AppError ? String(e.extensions.code) : null;
      const reason = code ? `${code}: ${(e as Error).message}` : (e as Error).message;
      const permanent = e instanceof Refused || (code !== null && PERMANENT.has(code));
      if (permanent || final) {
        await p.participationOrder.updateMany({
          where: { id: drawId, delivery: "PENDING" },
          data: { delivery: "FAILED", deliveryError: reason.slice(0, 500) },
        });
        this.d.log.warn({ drawId, award: award.name, reason }, "award delivery failed");
        return "FAILED";
      }
      await p.participationOrder.update({ where: { id: drawId }, data: { deliveryError: reason.slice(0, 500) } });
      throw e;
    }
  }

  /** Hands the award over; what to record on the draw, or AWAITING_ADDRESS. */
  private async handOver(
    draw: ParticipationOrder,
    award: Award,
  ): Promise<{ couponId?: string; prizeOrderId?: string } | "AWAITING_ADDRESS"> {
    switch (award.kind) {
      case "POINTS":
        if (award.points > 0) await this.d.points.earn(draw.memberId, award.points, "award", `award:${draw.id}`);
        return {};
      case "COUPON": {
        if (!award.reference) throw new Refused("the COUPON award names no coupon template");
        const r = await this.d.coupons.grant(draw.memberId, award.reference, `lottery:${draw.id}`);
        if (r.code !== "OK" || !r.coupon) throw new Refused(`couponGrant answered ${r.code}`);
        return { couponId: r.coupon.id };
      }
      case "GOODS": {
        if (!award.reference) throw new Refused("the GOODS award names no SKU");
        const r = await this.d.prizes.create(draw.id, draw.memberId, award.reference, draw.addressId);
        if (r.code === "NO_ADDRESS" || r.code === "ADDRESS_NOT_FOUND") return "AWAITING_ADDRESS";
        if (r.code !== "OK" || !r.orderId) throw new Refused(`orderCreatePrize answered ${r.code}`);
        return { prizeOrderId: r.orderId };
      }
      default:
        return {};
    }
  }

  private async markDelivered(
    draw: ParticipationOrder,
    award: Award,
    patch: { couponId?: string; prizeOrderId?: string },
  ): Promise<DeliveryRun> {
    return this.d.prisma.$transaction(async (tx) => {
      const n = await tx.participationOrder.updateMany({
        where: { id: draw.id, delivery: "PENDING" },
        data: { delivery: "DELIVERED", deliveredAt: new Date(this.d.now()), deliveryError: null, ...patch },
      });
      if (n.count === 0) return "ALREADY_DELIVERED";
      if (award.kind !== "NONE") {
        await tx.lotteryEvent.create({
          data: { topic: PRIZE_DELIVERED_TOPIC, memberId: draw.memberId, payload: prizeDelivered(draw, award, patch) },
        });
        // the member's inbox message (PRIZE_DELIVERED), through the job outbox
        await prizeDeliveredMessage(tx, { orderId: draw.id, memberId: draw.memberId, award: award.name, kind: award.kind });
      }
      return "DELIVERED";
    });
  }

  /** The member names the address of a GOODS award that waits for one; delivered at once when possible. */
  async claim(memberId: string, drawId: string, addressId: string): Promise<DeliveryOutcome> {
    const p = this.d.prisma;
    const draw = await p.participationOrder.findFirst({ where: { id: drawId, memberId } });
    if (!draw) return { code: DeliveryCode.NOT_FOUND, draw: null };
    const n = await p.participationOrder.updateMany({
      where: { id: drawId, memberId, delivery: "AWAITING_ADDRESS" },
      data: { delivery: "PENDING", addressId, deliveryError: null },
    });
    if (n.count === 0) return { code: DeliveryCode.NOT_AWAITING_ADDRESS, draw };
    const state = await this.runNowOrLater(drawId, `claim-${drawId}-${addressId}`);
    const after = await p.participationOrder.findUniqueOrThrow({ where: { id: drawId } });
    if (state === "AWAITING_ADDRESS") return { code: DeliveryCode.ADDRESS_NOT_FOUND, draw: after };
    return { code: DeliveryCode.OK, draw: after };
  }

  /** Operators: a FAILED draw is delivered again (a fresh retry budget). */
  async retry(drawId: string): Promise<DeliveryOutcome> {
    const p = this.d.prisma;
    const draw = await p.participationOrder.findUnique({ where: { id: drawId } });
    if (!draw) return { code: DeliveryCode.NOT_FOUND, draw: null };
    const n = await p.participationOrder.updateMany({
      where: { id: drawId, delivery: "FAILED" },
      data: { delivery: "PENDING", deliveryError: null },
    });
    if (n.count === 0) return { code: DeliveryCode.NOT_FAILED, draw };
    await this.runNowOrLater(drawId, `retry-${drawId}-${this.d.now()}`);
    return { code: DeliveryCode.OK, draw: await p.participationOrder.findUniqueOrThrow({ where: { id: drawId } }) };
  }

  /** One attempt now; when it throws (a service is down), the job retries it with backoff. */
  private async runNowOrLater(drawId: string, key: string): Promise<DeliveryRun> {
    try {
      return await this.run(drawId);
    } catch (e) {
      this.d.log.info({ drawId, err: (e as Error).message }, "award delivery deferred to the job");
      await this.enqueue(drawId, key, this.d.budget.backoffMs);
      return "PENDING";
    }
  }

  /** Re-enqueues PENDING deliveries a crash may have dropped (repeatable sweep). */
  async sweep(): Promise<number> {
    const now = this.d.now();
    const rows = await this.d.prisma.participationOrder.findMany({
      where: { delivery: "PENDING", awardId: { not: null }, createdAt: { lt: new Date(now - 60_000) } },
      select: { id: true },
      take: 1000,
    });
    for (const r of rows) await this.enqueue(r.id, `sweep-${r.id}-${Math.floor(now / 600_000)}`);
    return rows.length;
  }
}

function prizeDelivered(
  draw: ParticipationOrder,
  award: Award,
  patch: { couponId?: string; prizeOrderId?: string },
): Prisma.InputJsonObject {
  return {
    drawId: draw.id,
    memberId: draw.memberId,
    activityId: draw.activityId,
    awardId: award.id,
    awardName: award.name,
    kind: award.kind,
    points: award.kind === "POINTS" ? award.points : 0,
    couponId: patch.couponId ?? null,
    prizeOrderId: patch.prizeOrderId ?? null,
  };
}
