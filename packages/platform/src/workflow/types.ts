/** The workflow runner's types, errors and the bits its modules share (decision 0031; the story in workflow.ts). */
import type { Logger } from "../log.ts";
import { bound, workflowCompensationFailures, workflowRecoveries } from "../metrics.ts";
import type { OutboxSql } from "../outbox.ts";
import type { Redis } from "../redis.ts";

/** What a Prisma client or transaction client offers that the runner needs. */
export type WorkflowSql = OutboxSql;

export interface WorkflowDb<Tx extends WorkflowSql> extends WorkflowSql {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

export type RunStatus = "RUNNING" | "COMPENSATING" | "COMPLETED" | "COMPENSATED" | "FAILED";

export interface StepContext<Tx> {
  /**
   * Runs `fn` in one transaction of the owning schema that also records the run (a local step's
   * one write). A step may call it again after a failed attempt (a retried unique number).
   */
  transact<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
  /**
   * The same as `transact` in ONE autocommitted statement (one round trip instead of BEGIN, the
   * step's writes, the run's record and COMMIT): the runner puts the run's record first as the CTE
   * `cte("run")` (one row, or none when another runner took the run over) and `build` gives the step's
   * writes as further data-modifying CTEs (`${cte("x")} AS (…), …`), each of which must write only rows
   * joined to the run's (`… SELECT … FROM ${cte("run")}`, or from a CTE that is), so a run taken over writes
   * nothing and throws WorkflowTakenOver, as `transact` rolls back. `firstParam`: the number of the
   * step's first `$n` (the run's record takes the ones before). `cte(name)`: the quoted name to give
   * (and refer to) each CTE, the run's record included (`cte("run")`): several runs' statements of one
   * turn go as one statement, each with its own names (decision 0056). Raw SQL outside the audit trail
   * (the run's bookkeeping is in it): not for an operator's audited change.
   */
  statement(build: (firstParam: number, cte: (name: string) => string) => { ctes: string; values: unknown[] }): Promise<void>;
  /** The step runs in a recovery (its effect may exist from the dead run). */
  recovering: boolean;
}

export interface Step<S, Tx = never> {
  id: string;
  invoke(state: S, ctx: StepContext<Tx>): Promise<void>;
  /** Undoes invoke; idempotent, and a no-op when invoke never ran (recovery undoes unrecorded steps). */
  compensate?(state: S): Promise<void>;
  /** Also compensate when invoke itself threw unexpectedly (its effect may have happened, e.g. a timed-out call). */
  compensateOnError?: boolean;
  /** Its failure is logged and never undoes or stops anything. */
  bestEffort?: boolean;
  /** The step's effect is one transaction made through `ctx.transact`, which records the run with it. */
  local?: boolean;
  /** Nothing to do for this state (the step is not run, and the run may complete before it). */
  skip?(state: S): boolean;
}

export interface WorkflowDefinition<S, Tx = never> {
  name: string;
  steps: Step<S, Tx>[];
  /** The step after whose success the run only goes forward. */
  pivot: string;
  /** The recorded state (JSON); default: the state itself. Must carry what compensations and the steps after the pivot read. */
  encode?(state: S): unknown;
  decode?(json: unknown): S;
  /**
   * The run's first record — the insert before the first remote step — commits without waiting for
   * the WAL flush (`synchronous_commit = off` for that one statement; decisions 0040, 0049). Only for
   * a workflow whose first remote step's effect lapses by itself when no run guards it (order
   * placement: catalog's reservation expires and `release-expired` returns the stock). A later
   * durable commit in the same cluster (the order's) flushes the record too; lost in a server crash,
   * the record takes with it only a run whose effect then lapses.
   */
  firstRecordUnflushed?: boolean;
  /**
   * A condition the run's first record is written under, checked by that record's own statement
   * (no round trip of its own): SQL over the runner's database whose values are numbered from
   * `first`. When it does not hold, nothing is written and the run aborts with `WorkflowAbort(abort)`
   * before its first step did anything. For a check that must come before every step (order
   * placement: no order with this idempotency key yet, decision 0050). Where a local step writes the
   * first record, a `transact` step's guard sees that step's own writes (the record follows them in
   * its transaction, which the abort rolls back); a `statement` step's sees the state before it.
   */
  firstRecordGuard?(state: S, first: number): { condition: string; values: unknown[]; abort: string };
}

/** A business refusal raised by a step (e.g. OUT_OF_STOCK); not an error of the system. */
export class WorkflowAbort extends Error {
  constructor(
    public readonly code: string,
    public readonly details: Record<string, unknown> = {},
  ) {
    super(`workflow aborted: ${code}`);
    this.name = "WorkflowAbort";
  }
}

/** Thrown by a test hook: the runner stops right there as if its process had died (nothing recorded, nothing undone). */
export class SimulatedCrash extends Error {
  constructor(at: string) {
    super(`simulated crash at ${at}`);
    this.name = "SimulatedCrash";
  }
}

/** Another runner took the run over (this one's lease ran out); this one stops. */
export class WorkflowTakenOver extends Error {
  constructor(runId: string) {
    super(`workflow run ${runId} was taken over by another runner`);
    this.name = "WorkflowTakenOver";
  }
}

/**
 * Test hooks (failure injection): a hook that throws makes the workflow fail at that point;
 * `afterStep` runs once a step's invoke has succeeded, so its own compensation runs too.
 * `afterInvoke` runs as the end of the step's invoke: a throw there is the step failing after its
 * effect happened (a connection lost after COMMIT), so only a `compensateOnError` step undoes it —
 * also a pivot, whose success was never seen. A hook that throws `SimulatedCrash` stops the run as
 * a killed process would.
 */
export interface WorkflowHooks {
  beforeStep?(stepId: string): void | Promise<void>;
  afterInvoke?(stepId: string): void | Promise<void>;
  afterStep?(stepId: string): void | Promise<void>;
  beforeCompensate?(stepId: string): void | Promise<void>;
}

export interface WorkflowReport {
  runId: string;
  completed: string[];
  compensated: string[];
  compensationFailures: Array<{ step: string; error: string }>;
  /** The pivot succeeded: whatever failed after it is finished by the sweep. */
  pastPivot: boolean;
}

export class WorkflowFailed extends Error {
  constructor(
    public readonly cause: unknown,
    public readonly report: WorkflowReport,
  ) {
    super(`workflow failed: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = "WorkflowFailed";
  }
}

/** A recorded run, as operators see it. */
export interface WorkflowRunRow {
  id: string;
  workflow: string;
  status: RunStatus;
  step: number;
  pastPivot: boolean;
  state: unknown;
  owner: string | null;
  leaseUntil: Date;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface SweepReport {
  resumed: number;
  compensated: number;
  retrying: number;
  failed: number;
}

export interface WorkflowRunnerOptions<Tx extends WorkflowSql> {
  /** The owning domain (metrics label, sweep lock). */
  domain: string;
  db: WorkflowDb<Tx>;
  log: Logger;
  /** With both: one sweep at a time across processes (a Redis lock); without, the row claims alone keep runs single. */
  redis?: Redis;
  redisPrefix?: string;
  /** How long a runner owns a run before a sweep may take it (default 30 s). */
  leaseMs?: number;
  /** Recovery attempts before a run is FAILED (default 8). */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt up to maxBackoffMs (defaults 1 s, 5 min). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Tests: failure injection into recoveries. */
  hooks?: WorkflowHooks;
  /** Local steps' statements of one turn as one statement (default: on unless WORKFLOW_STATEMENT_BATCH=off; decision 0056). */
  batchStatements?: boolean;
}

/** One run in progress in this process. */
export interface Handle {
  id: string;
  token: string;
  recorded: boolean;
  pastPivot: boolean;
  /** The run is recorded COMPLETED already. */
  closed: boolean;
}

export const COLUMNS = `"id", "workflow", "status", "step", "pastPivot", "state", "owner", "leaseUntil", "attempts", "nextAttemptAt", "lastError", "createdAt", "updatedAt"`;
export const recoveryCounter = bound(workflowRecoveries);
export const compensationFailureCounter = bound(workflowCompensationFailures);
export const TX_OPTIONS = { maxWait: 15_000, timeout: 30_000 };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- definitions of any state share one registry; each is used with its own
export type AnyDefinition<Tx> = WorkflowDefinition<any, Tx>;

/** A compensation that failed during a recovery, with the step it got to. */
export class RecoveryFailed extends Error {
  step = 0;
  constructor(public readonly cause: unknown) {
    super(errorText(cause));
  }
}

export function errorText(e: unknown): string {
  return String((e as Error)?.message ?? e).slice(0, 1000);
}
