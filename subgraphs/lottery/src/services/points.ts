/**
 * Points accounts (exact integers) with an append-only ledger: earn and spend, each idempotent per
 * reference (a replayed reference changes nothing); spend never takes the balance below zero.
 */
import { randomUUID } from "node:crypto";
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { badInput } from "@mallgraph/platform/errors";
import { PointsCode } from "../errors.ts";
import { Prisma, type PrismaClient, type PointsAccount } from "../generated/prisma/client.ts";

export type Tx = Prisma.TransactionClient;

const EMPTY = (memberId: string): PointsAccount => ({ memberId, balance: 0, earned: 0, spent: 0, updatedAt: new Date(0) });

export class PointsService {
  constructor(private readonly prisma: PrismaClient) {}

  async account(memberId: string): Promise<PointsAccount> {
    return (await this.prisma.pointsAccount.findUnique({ where: { memberId } })) ?? EMPTY(memberId);
  }

  /** The member's points history, newest first; the cursor is the last item's sequence number. */
  async history(memberId: string, first: number, after?: string | null) {
    if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput("first must be 1 to 100", { field: "first" });
    if (after != null && !/^\d{1,19}$/.test(after)) throw badInput("after is not a cursor of this list", { field: "after" });
    const rows = await this.prisma.pointsLedger.findMany({
      where: { memberId, ...(after ? { seq: { lt: BigInt(after) } } : {}) },
      orderBy: { seq: "desc" },
      take: first + 1,
    });
    const items = rows
      .slice(0, first)
      .map((r) => ({ id: r.id, delta: r.delta, reason: r.reason, reference: r.reference, createdAt: r.createdAt.toISOString() }));
    const last = items.length ? rows[items.length - 1] : undefined;
    return { items, pageInfo: { hasNextPage: rows.length > first, endCursor: last ? last.seq.toString() : null } };
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

  /** Whether a ledger entry with this reference exists (a replay). */
  async applied(reference: string): Promise<boolean> {
    return !!(await this.prisma.pointsLedger.findUnique({ where: { reference }, select: { id: true } }));
  }

  /** Inside a transaction: takes points (false when short); a reused reference throws P2002. */
  async spendIn(t: Tx, memberId: string, points: number, reason: string, reference: string): Promise<boolean> {
    this.check(points);
    const n = await t.pointsAccount.updateMany({
      where: { memberId, balance: { gte: points } },
      data: { balance: { decrement: points }, spent: { increment: points } },
    });
    if (n.count === 0) return false;
    await t.pointsLedger.create({ data: { memberId, delta: -points, reason, reference } });
    return true;
  }

  /** Takes points once per reference; INSUFFICIENT_POINTS (nothing written) when the balance is short. */
  async spend(memberId: string, points: number, reason: string, reference: string): Promise<{ code: string; account: PointsAccount }> {
    this.check(points);
    if (await this.applied(reference)) return { code: PointsCode.OK, account: await this.account(memberId) };
    try {
      // One statement (atomic without an interactive transaction): the conditional UPDATE and the
      // ledger entry from its result; a reused reference aborts both.
      const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
        WITH a AS (
          UPDATE "PointsAccount" SET "balance" = "balance" - ${points}::int, "spent" = "spent" + ${points}::int, "updatedAt" = now()
          WHERE "memberId" = ${memberId} AND "balance" >= ${points}::int
          RETURNING "memberId")
        INSERT INTO "PointsLedger" ("id", "memberId", "delta", "reason", "reference")
        SELECT ${randomUUID()}, ${memberId}, ${-points}::int, ${reason}, ${reference} FROM a
        RETURNING "id"`;
      return { code: rows.length ? PointsCode.OK : PointsCode.INSUFFICIENT_POINTS, account: await this.account(memberId) };
    } catch (e) {
      if (isUniqueViolation(e)) return { code: PointsCode.OK, account: await this.account(memberId) };
      throw e;
    }
  }
}
