/**
 * Points accounts (exact integers) with an append-only ledger: earn and spend, each idempotent per
 * reference (a replayed reference changes nothing); spend never takes the balance below zero.
 * The daily sign-in rebate gives points once per calendar day (Asia/Shanghai).
 */
import { badInput } from "@mallgraph/platform/errors";
import { Prisma, type PrismaClient, type PointsAccount } from "../generated/prisma/client.ts";
import { PointsCode, SignInCode } from "../errors.ts";
import { dayOf } from "./days.ts";

export type Tx = Prisma.TransactionClient;

export function isUniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === "P2002";
}

const EMPTY = (memberId: string): PointsAccount => ({ memberId, balance: 0, earned: 0, spent: 0, updatedAt: new Date(0) });

export class PointsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly opts: { signInPoints: number; now?: () => number },
  ) {}

  async account(memberId: string): Promise<PointsAccount> {
    return (await this.prisma.pointsAccount.findUnique({ where: { memberId } })) ?? EMPTY(memberId);
  }

  private check(points: number) {
    if (!Number.isSafeInteger(points) || points <= 0) throw badInput("points must be a positive integer", { field: "points" });
  }

  /** Adds points once per reference. Returns the account. */
  async earn(memberId: string, points: number, reason: string, reference: string, tx?: Tx): Promise<PointsAccount> {
    this.check(points);
    const run = async (t: Tx) => {
      await t.pointsLedger.create({ data: { memberId, delta: points, reason, reference } });
      return t.pointsAccount.upsert({
        where: { memberId },
        create: { memberId, balance: points, earned: points },
        update: { balance: { increment: points }, earned: { increment: points } },
      });
    };
    try {
      return tx ? await run(tx) : await this.prisma.$transaction(run);
    } catch (e) {
      if (isUniqueViolation(e) && !tx) return this.account(memberId);
      throw e;
    }
  }

  /** Takes points once per reference; INSUFFICIENT_POINTS (nothing written) when the balance is short. */
  async spend(memberId: string, points: number, reason: string, reference: string): Promise<{ code: string; account: PointsAccount }> {
    this.check(points);
    try {
      const account = await this.prisma.$transaction(async (t) => {
        const n = await t.pointsAccount.updateMany({
          where: { memberId, balance: { gte: points } },
          data: { balance: { decrement: points }, spent: { increment: points } },
        });
        if (n.count === 0) return null;
        await t.pointsLedger.create({ data: { memberId, delta: -points, reason, reference } });
        return t.pointsAccount.findUniqueOrThrow({ where: { memberId } });
      });
      if (!account) return { code: PointsCode.INSUFFICIENT_POINTS, account: await this.account(memberId) };
      return { code: PointsCode.OK, account };
    } catch (e) {
      if (isUniqueViolation(e)) return { code: PointsCode.OK, account: await this.account(memberId) };
      throw e;
    }
  }

  /** The daily sign-in rebate: once per calendar day. */
  async signIn(memberId: string): Promise<{ code: string; points: number; day: string; account: PointsAccount }> {
    const day = dayOf((this.opts.now ?? Date.now)());
    const points = this.opts.signInPoints;
    try {
      const account = await this.prisma.$transaction(async (t) => {
        await t.signIn.create({ data: { memberId, day, points } });
        return this.earn(memberId, points, "sign-in", `sign-in:${memberId}:${day}`, t);
      });
      return { code: SignInCode.OK, points, day, account };
    } catch (e) {
      if (isUniqueViolation(e)) return { code: SignInCode.ALREADY_SIGNED_IN, points: 0, day, account: await this.account(memberId) };
      throw e;
    }
  }
}
