/**
 * Behaviour rebates and points → draws:
 * - `signIn(activityId?)`: once per calendar day (Asia/Shanghai): points (default 10), or — when an
 *   online activity is named — one bonus draw in it;
 * - `exchangePointsForDraws`: spends `count × activity.pointsPerDraw` points for bonus draws, in one
 *   transaction, idempotent per key.
 * Bonus draws are used by a draw when the regular quota (total / month / day) has no room.
 */
import { dayOf } from "@mallgraph/platform/days";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { badInput, notFound } from "@mallgraph/platform/errors";
import { PackCode, PointsCode, SignInCode } from "../errors.ts";
import type { PrismaClient, PointsAccount } from "../generated/prisma/client.ts";
import type { DrawService } from "./draws.ts";
import type { PointsService } from "./points.ts";

export interface SignInOutcome {
  code: SignInCode;
  points: number;
  draws: number;
  day: string;
  account: PointsAccount;
}

export class RebateService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly points: PointsService,
    private readonly draws: DrawService,
    private readonly opts: { signInPoints: number; now?: () => number },
  ) {}

  private now() {
    return (this.opts.now ?? Date.now)();
  }

  async signIn(memberId: string, activityId?: string | null): Promise<SignInOutcome> {
    const day = dayOf(this.now());
    if (activityId) {
      const activity = await this.draws.activity(activityId);
      if (!activity) throw notFound("activity", activityId);
      if (!this.draws.isOnline(activity))
        return { code: SignInCode.NOT_ONLINE, points: 0, draws: 0, day, account: await this.points.account(memberId) };
    }
    const points = activityId ? 0 : this.opts.signInPoints;
    const draws = activityId ? 1 : 0;
    try {
      const account = await this.prisma.$transaction(async (t) => {
        await t.signIn.create({ data: { memberId, day, points, draws, activityId: activityId ?? null } });
        if (activityId) {
          await t.quotaAccount.upsert({
            where: { activityId_memberId: { activityId, memberId } },
            create: { activityId, memberId, bonus: 1 },
            update: { bonus: { increment: 1 } },
          });
          return (await t.pointsAccount.findUnique({ where: { memberId } })) ?? (await this.points.account(memberId));
        }
        return this.points.earn(memberId, points, "sign-in", `sign-in:${memberId}:${day}`, t);
      });
      return { code: SignInCode.OK, points, draws, day, account };
    } catch (e) {
      if (isUniqueViolation(e))
        return { code: SignInCode.ALREADY_SIGNED_IN, points: 0, draws: 0, day, account: await this.points.account(memberId) };
      throw e;
    }
  }

  async exchangePointsForDraws(
    memberId: string,
    activityId: string,
    count: number,
    idempotencyKey: string,
  ): Promise<{ code: PackCode; bonusDraws: number; account: PointsAccount }> {
    if (!Number.isInteger(count) || count < 1 || count > 100) throw badInput("count must be 1 to 100", { field: "count" });
    if (!idempotencyKey || idempotencyKey.length > 100)
      throw badInput("idempotencyKey must be 1 to 100 characters", { field: "idempotencyKey" });
    const activity = await this.draws.activity(activityId);
    if (!activity) throw notFound("activity", activityId);
    if (activity.pointsPerDraw <= 0) throw badInput("this activity does not exchange points for draws", { field: "activityId" });
    const bonusOf = async () =>
      (await this.prisma.quotaAccount.findUnique({ where: { activityId_memberId: { activityId, memberId } } }))?.bonus ?? 0;
    const reference = `exchange:${activityId}:${memberId}:${idempotencyKey}`;
    if (await this.points.applied(reference))
      return { code: PointsCode.OK, bonusDraws: await bonusOf(), account: await this.points.account(memberId) };
    if (!this.draws.isOnline(activity))
      return { code: PackCode.NOT_ONLINE, bonusDraws: await bonusOf(), account: await this.points.account(memberId) };
    try {
      const ok = await this.prisma.$transaction(async (t) => {
        if (!(await this.points.spendIn(t, memberId, count * activity.pointsPerDraw, "draws", reference))) return false;
        await t.quotaAccount.upsert({
          where: { activityId_memberId: { activityId, memberId } },
          create: { activityId, memberId, bonus: count },
          update: { bonus: { increment: count } },
        });
        return true;
      });
      return {
        code: ok ? PointsCode.OK : PointsCode.INSUFFICIENT_POINTS,
        bonusDraws: await bonusOf(),
        account: await this.points.account(memberId),
      };
    } catch (e) {
      // The same key again: already exchanged.
      if (isUniqueViolation(e)) return { code: PointsCode.OK, bonusDraws: await bonusOf(), account: await this.points.account(memberId) };
      throw e;
    }
  }
}
