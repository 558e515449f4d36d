/**
 * Creating a rain: validation and the random split here, then the durable createRain workflow
 * (src/workflows/createRain.ts): the budget frozen in MARKETING, the shares armed in Redis, the close
 * scheduled, the rain stored (the pivot) and opened.
 */
import { randomUUID } from "node:crypto";
import { AppError, badInput, defined } from "@mallgraph/platform/errors";
import { formatAmount, parseAmount } from "@mallgraph/platform/money";
import { WorkflowAbort, WorkflowFailed, type WorkflowDefinition } from "@mallgraph/platform/workflow";
import { LotteryErrorCode } from "../errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { createRainRunId, type CreateRainState } from "../workflows/createRain.ts";
import type { RainReads } from "./rain-reads.ts";
import { MAX_SHARDS, MAX_SHARES, SHARES_PER_SHARD, toMinor, type RainContext, type RainInput, type RainView } from "./rain-shared.ts";
import { splitShares, cryptoRandomInt, MAX_MINOR_TOTAL } from "./split.ts";

function parseTime(value: string, field: string): Date {
  const d = new Date(value);
  if (typeof value !== "string" || Number.isNaN(d.getTime())) throw badInput(`${field} must be an ISO-8601 time`, { field });
  return d;
}

export class RainCreation {
  constructor(
    private readonly c: RainContext,
    private readonly reads: RainReads,
    private readonly workflow: WorkflowDefinition<CreateRainState, Prisma.TransactionClient>,
  ) {}

  /** Validates, splits, stores the campaign (PostgreSQL) and its shares (Redis), schedules the close. */
  async create(input: RainInput, operatorId: string): Promise<RainView> {
    const { d } = this.c;
    const title = input.title?.trim();
    if (!title) throw badInput("title must not be empty", { field: "title" });
    if (title.length > 100) throw badInput("title is longer than 100 characters", { field: "title" });
    const total = parseAmount(input.totalAmount, input.currency, { field: "totalAmount" });
    const totalMinor = toMinor(total, input.currency);
    if (totalMinor > MAX_MINOR_TOTAL) throw badInput("totalAmount is too large", { field: "totalAmount" });
    if (!Number.isInteger(input.shares) || input.shares < 1) throw badInput("shares must be a positive integer", { field: "shares" });
    if (input.shares > MAX_SHARES) throw badInput(`shares must not exceed ${MAX_SHARES}`, { field: "shares" });
    if (input.shares > totalMinor)
      throw badInput("more shares than minor units in totalAmount (each share needs at least one)", { field: "shares" });
    const startsAt = parseTime(input.startsAt, "startsAt");
    const endsAt = parseTime(input.endsAt, "endsAt");
    if (endsAt <= startsAt) throw badInput("endsAt must be after startsAt", { field: "endsAt" });
    if (endsAt.getTime() <= this.c.now()) throw badInput("endsAt is in the past", { field: "endsAt" });

    const shares = splitShares(totalMinor, input.shares, d.random ?? cryptoRandomInt);
    const shards = Math.min(MAX_SHARDS, Math.ceil(input.shares / SHARES_PER_SHARD));
    const state: CreateRainState = {
      rainId: randomUUID(),
      title,
      currency: input.currency,
      totalAmount: total.toFixed(),
      totalText: formatAmount(total, input.currency),
      shares: input.shares,
      shards,
      startsAt: startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
      createdBy: operatorId,
      split: shares,
    };
    try {
      await d.workflows.run(this.workflow, createRainRunId(state.rainId), state, { hooks: d.hooks?.createRain });
    } catch (e) {
      if (e instanceof WorkflowAbort && e.code === "INSUFFICIENT_BALANCE")
        throw new AppError(
          LotteryErrorCode.INSUFFICIENT_BALANCE,
          `the marketing account holds less than ${state.totalText} ${input.currency}`,
          {
            field: "totalAmount",
          },
        );
      // past the pivot the rain stands (the sweep opens it); before it, nothing of it is left
      if (!(e instanceof WorkflowFailed && e.report.pastPivot)) throw e instanceof WorkflowFailed ? e.cause : e;
    }
    const rain = defined(await d.prisma.redEnvelopeRain.findUnique({ where: { id: state.rainId } }), `rain ${state.rainId}`);
    return this.reads.view(rain);
  }
}
