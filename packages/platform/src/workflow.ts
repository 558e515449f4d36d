/**
 * The durable workflow runner (decision 0031): a multi-step write whose run and step results are
 * recorded in the owning domain's schema (`"WorkflowRun"`, prisma/platform/workflow.prisma), so that
 * a process that dies midway leaves a run another process finishes.
 *
 * - Steps run in order. A step is either *remote* (a call to another domain, Redis, a provider) or
 *   *local* (`local: true`: its effect is one transaction of the owning schema, made through
 *   `ctx.transact`). Every step must be safe to repeat: its effects are keyed by idempotency keys
 *   derived from the state (a reservation key, the order id), so running it twice, or compensating
 *   a step that never ran, changes nothing more.
 * - Recording, batched (the hot path pays at most one extra write a run): the run row is inserted
 *   before the first remote step, or inside the first local step's transaction when that comes
 *   first; every local step's transaction also records the steps done so far (fenced by the
 *   runner's token: a run another runner took over rolls back instead). Remote steps are not
 *   recorded one by one — recovery repeats or undoes them by their keys. The run is marked
 *   COMPLETED in the last local step's transaction when nothing after it remains to run
 *   (`skip(state)`), else by one update at the end.
 * - Each workflow declares its `pivot` step. A failure before the pivot has succeeded undoes the
 *   steps done, in reverse (`compensate`, also for the failing step itself when `compensateOnError`:
 *   its effect may have happened, e.g. a timed-out call). Past the pivot the run only goes forward:
 *   a failing step is retried by the sweep. A remote pivot is recorded with the next record, so a
 *   run that died right after a remote pivot is compensated: its compensations must detect a pivot
 *   that happened (payment's wallet close does), or the pivot must be a local step.
 * - The sweep (`start`: at start-up and every few seconds, one instance at a time under a Redis
 *   lock; each run is also claimed with FOR UPDATE SKIP LOCKED, so two sweeps never take one run)
 *   takes runs whose lease ran out: past the pivot they resume forward from the recorded step,
 *   before it they are compensated (every step before the pivot: which remote steps ran is not
 *   recorded, and compensating one that never ran is a no-op). A recovery that fails is retried
 *   with exponential backoff; past `maxAttempts` the run is FAILED: listed for operators
 *   (`failedRuns`, the domain's admin query), counted on /metrics (`mg_workflow_runs{status="FAILED"}`),
 *   retried by an operator (`retry`) — never dropped.
 * - A business refusal of a step is a `WorkflowAbort` (the caller turns it into a result code);
 *   the earlier steps are undone all the same.
 *
 * The runner speaks raw SQL, so any domain's Prisma client (or transaction client) works; its own
 * bookkeeping is kept out of the operator audit trail (`unaudited`).
 */
import { randomUUID } from "node:crypto";
import { unaudited } from "./audit-scope.ts";
import type { Logger } from "./log.ts";
import { bound, reportWorkflowRuns, workflowCompensationFailures, workflowRecoveries } from "./metrics.ts";
import type { OutboxSql } from "./outbox.ts";
import { periodic } from "./periodic.ts";
import type { Redis } from "./redis.ts";
import { keyFor, lockReleaser } from "./redis.ts";

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
}

/** One run in progress in this process. */
interface Handle {
  id: string;
  token: string;
  recorded: boolean;
  pastPivot: boolean;
  /** The run is recorded COMPLETED already. */
  closed: boolean;
}

const COLUMNS = `"id", "workflow", "status", "step", "pastPivot", "state", "owner", "leaseUntil", "attempts", "nextAttemptAt", "lastError", "createdAt", "updatedAt"`;
const TX_OPTIONS = { maxWait: 15_000, timeout: 30_000 };

const recoveryCounter = bound(workflowRecoveries);
const compensationFailureCounter = bound(workflowCompensationFailures);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- definitions of any state share one registry; each is used with its own
type AnyDefinition<Tx> = WorkflowDefinition<any, Tx>;

export class WorkflowRunner<Tx extends WorkflowSql> {
  private readonly defs = new Map<string, AnyDefinition<Tx>>();
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private sweeping: Promise<SweepReport> | undefined;
  hooks: WorkflowHooks;

  constructor(private readonly o: WorkflowRunnerOptions<Tx>) {
    this.leaseMs = o.leaseMs ?? 30_000;
    this.maxAttempts = o.maxAttempts ?? 8;
    this.backoffMs = o.backoffMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 300_000;
    this.hooks = o.hooks ?? {};
    reportWorkflowRuns(o.domain, () => this.counts());
  }

  /** Makes a workflow known to this runner (its sweep recovers only workflows it knows). */
  register<S>(def: WorkflowDefinition<S, Tx>): WorkflowDefinition<S, Tx> {
    if (!def.steps.some((s) => s.id === def.pivot)) throw new Error(`workflow ${def.name}: pivot ${def.pivot} is not one of its steps`);
    if (new Set(def.steps.map((s) => s.id)).size !== def.steps.length) throw new Error(`workflow ${def.name}: step ids repeat`);
    this.defs.set(def.name, def);
    return def;
  }

  /**
   * Runs a workflow as run `runId` (unique: the run's idempotency key). Resolves with the report;
   * throws WorkflowAbort (a step's refusal, earlier steps undone) or WorkflowFailed (undone before
   * the pivot, or left to the sweep past it: `report.pastPivot`).
   */
  async run<S>(def: WorkflowDefinition<S, Tx>, runId: string, state: S, opts: { hooks?: WorkflowHooks } = {}): Promise<WorkflowReport> {
    if (this.defs.get(def.name) !== def) this.register(def);
    const h: Handle = { id: runId, token: randomUUID(), recorded: false, pastPivot: false, closed: false };
    return this.forward(def, h, state, 0, opts.hooks ?? {}, false);
  }

  private pivotIndex(def: AnyDefinition<Tx>): number {
    return def.steps.findIndex((s) => s.id === def.pivot);
  }

  private encode<S>(def: WorkflowDefinition<S, Tx>, state: S): string {
    return JSON.stringify(def.encode ? def.encode(state) : state);
  }

  /** Runs steps `from`… forward. */
  private async forward<S>(
    def: WorkflowDefinition<S, Tx>,
    h: Handle,
    state: S,
    from: number,
    hooks: WorkflowHooks,
    recovering: boolean,
  ): Promise<WorkflowReport> {
    const report: WorkflowReport = { runId: h.id, completed: [], compensated: [], compensationFailures: [], pastPivot: h.pastPivot };
    const pivot = this.pivotIndex(def);
    const done: number[] = [];
    for (let i = from; i < def.steps.length; i++) {
      const step = def.steps[i] as Step<S, Tx>;
      if (step.skip?.(state)) continue;
      let invoked = false;
      try {
        if (!h.recorded && !step.local) await this.insert(this.o.db, def, h, state, i, "RUNNING");
        let transacted = false;
        const ctx: StepContext<Tx> = {
          recovering,
          transact: async (fn, options) => {
            const r = await this.o.db.$transaction(
              async (tx) => {
                const out = await fn(tx);
                await this.recordLocal(tx, def, h, state, i, pivot);
                return out;
              },
              { ...TX_OPTIONS, ...options },
            );
            this.afterLocal(def, h, state, i);
            transacted = true;
            return r;
          },
        };
        await hooks.beforeStep?.(step.id);
        try {
          await step.invoke(state, ctx);
          await hooks.afterInvoke?.(step.id);
        } catch (e) {
          if (
            step.compensateOnError &&
            !(e instanceof WorkflowAbort) &&
            !(e instanceof SimulatedCrash) &&
            !(e instanceof WorkflowTakenOver)
          )
            done.push(i);
          throw e;
        }
        if (step.local && !transacted) throw new Error(`workflow ${def.name}: local step ${step.id} made no transaction`);
        invoked = true;
        done.push(i);
        report.completed.push(step.id);
        if (i >= pivot) h.pastPivot = report.pastPivot = true;
        await hooks.afterStep?.(step.id);
      } catch (e) {
        if (e instanceof SimulatedCrash) throw e;
        if (step.bestEffort && !(e instanceof WorkflowTakenOver)) {
          this.o.log.warn({ err: e, workflow: def.name, runId: h.id, step: step.id }, "best-effort workflow step failed");
          continue;
        }
        if (h.pastPivot) {
          // past the pivot: never undone; the sweep resumes from the step that failed (or the next one)
          if (!(e instanceof WorkflowTakenOver)) await this.leaveForward(def, h, state, invoked ? i + 1 : i, e);
          throw new WorkflowFailed(e, report);
        }
        this.o.log.info(
          { workflow: def.name, runId: h.id, step: step.id, invoked, reason: (e as Error).message },
          "workflow step failed; compensating",
        );
        await this.compensateInline(def, h, state, done, report, hooks, e instanceof WorkflowTakenOver);
        if (e instanceof WorkflowAbort) {
          (e as WorkflowAbort & { report?: WorkflowReport }).report = report;
          throw e;
        }
        throw new WorkflowFailed(e, report);
      }
    }
    if (!h.closed && h.recorded)
      // not recorded: the sweep finds it RUNNING past the pivot and repeats the idempotent steps after the last record
      await this.update(this.o.db, h, {
        status: "COMPLETED",
        step: def.steps.length,
        pastPivot: true,
        state: this.encode(def, state),
      }).catch((e) => this.o.log.warn({ err: e, workflow: def.name, runId: h.id }, "could not record a completed workflow run"));
    h.closed = true;
    return report;
  }

  /** The steps after `i` that still have something to do. */
  private remaining<S>(def: WorkflowDefinition<S, Tx>, state: S, i: number): boolean {
    return def.steps.slice(i + 1).some((s) => !s.skip?.(state));
  }

  /** Inside a local step's transaction: records the run (inserted, or updated fenced by our token). */
  private async recordLocal<S>(tx: Tx, def: WorkflowDefinition<S, Tx>, h: Handle, state: S, i: number, pivot: number): Promise<void> {
    const complete = !this.remaining(def, state, i);
    const status: RunStatus = complete ? "COMPLETED" : "RUNNING";
    const fields = { status, step: i + 1, pastPivot: h.pastPivot || i >= pivot, state: this.encode(def, state) };
    if (!h.recorded) await this.insertRow(tx, def, h, fields);
    else await this.update(tx, h, fields);
  }

  /**
   * After a local step's transaction committed. The pivot counts as passed only once the step
   * returned: a step that fails after its commit (an answer lost) is undone like any other.
   */
  private afterLocal<S>(def: WorkflowDefinition<S, Tx>, h: Handle, state: S, i: number): void {
    h.recorded = true;
    if (!this.remaining(def, state, i)) h.closed = true;
  }

  private async insert<S>(sql: WorkflowSql, def: WorkflowDefinition<S, Tx>, h: Handle, state: S, step: number, status: RunStatus) {
    await this.insertRow(sql, def, h, { status, step, pastPivot: h.pastPivot, state: this.encode(def, state) });
    h.recorded = true;
  }

  private insertRow<S>(
    sql: WorkflowSql,
    def: WorkflowDefinition<S, Tx>,
    h: Handle,
    f: { status: RunStatus; step: number; pastPivot: boolean; state: string },
  ): Promise<number> {
    return unaudited(() =>
      sql.$executeRawUnsafe(
        `INSERT INTO "WorkflowRun" ("id", "workflow", "status", "step", "pastPivot", "state", "owner", "leaseUntil")
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, now() + make_interval(secs => $8::double precision))`,
        h.id,
        def.name,
        f.status,
        f.step,
        f.pastPivot,
        f.state,
        h.token,
        this.leaseMs / 1000,
      ),
    );
  }

  /**
   * Updates the run while `h` owns it (else WorkflowTakenOver). `retryIn` (seconds): hand it to the
   * sweep (lease released, next attempt then); `attempt`: count one more attempt.
   */
  private async update(
    sql: WorkflowSql,
    h: Handle,
    f: { status: RunStatus; step: number; pastPivot: boolean; state?: string; retryIn?: number; attempt?: boolean; error?: string },
  ): Promise<void> {
    const n = await unaudited(() =>
      sql.$executeRawUnsafe(
        `UPDATE "WorkflowRun" SET "status" = $3, "step" = $4, "pastPivot" = $5, "state" = COALESCE($6::jsonb, "state"), "updatedAt" = now(),
           "leaseUntil" = CASE WHEN $7::double precision IS NULL THEN "leaseUntil" ELSE now() END,
           "nextAttemptAt" = CASE WHEN $7::double precision IS NULL THEN NULL ELSE now() + make_interval(secs => $7::double precision) END,
           "attempts" = "attempts" + $8::int,
           "lastError" = CASE WHEN $3 IN ('COMPLETED', 'COMPENSATED') THEN NULL ELSE COALESCE($9, "lastError") END
         WHERE "id" = $1 AND "owner" = $2`,
        h.id,
        h.token,
        f.status,
        f.step,
        f.pastPivot,
        f.state ?? null,
        f.retryIn ?? null,
        f.attempt ? 1 : 0,
        f.error?.slice(0, 1000) ?? null,
      ),
    );
    if (n !== 1) throw new WorkflowTakenOver(h.id);
  }

  private backoffSeconds(attempts: number): number {
    return Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.max(0, attempts - 1)) / 1000;
  }

  /** A step past the pivot failed in the running process: the sweep resumes it from `step`. */
  private async leaveForward<S>(def: WorkflowDefinition<S, Tx>, h: Handle, state: S, step: number, e: unknown): Promise<void> {
    try {
      if (!h.recorded) await this.insert(this.o.db, def, h, state, step, "RUNNING");
      await this.update(this.o.db, h, {
        status: "RUNNING",
        step,
        pastPivot: true,
        state: this.encode(def, state),
        retryIn: this.backoffSeconds(1),
        attempt: true,
        error: errorText(e),
      });
      h.closed = true;
    } catch (re) {
      // the lease runs out and the sweep takes it all the same
      this.o.log.error({ err: re, workflow: def.name, runId: h.id }, "could not record a workflow left to the sweep");
    }
  }

  /** Undoes the steps done (`done`, in order) in reverse; a failed compensation is left to the sweep. */
  private async compensateInline<S>(
    def: WorkflowDefinition<S, Tx>,
    h: Handle,
    state: S,
    done: number[],
    report: WorkflowReport,
    hooks: WorkflowHooks,
    takenOver: boolean,
  ): Promise<void> {
    for (const i of [...done].reverse()) {
      const step = def.steps[i] as Step<S, Tx>;
      if (!step.compensate) continue;
      try {
        await hooks.beforeCompensate?.(step.id);
        await step.compensate(state);
        report.compensated.push(step.id);
      } catch (ce) {
        if (ce instanceof SimulatedCrash) throw ce;
        report.compensationFailures.push({ step: step.id, error: errorText(ce) });
        compensationFailureCounter(this.o.domain, def.name).inc();
        this.o.log.error({ err: ce, workflow: def.name, runId: h.id, step: step.id }, "compensation failed; the sweep retries it");
        // the new owner of a taken-over run compensates it itself
        if (takenOver) return;
        try {
          if (!h.recorded) await this.insert(this.o.db, def, h, state, i + 1, "COMPENSATING");
          await this.update(this.o.db, h, {
            status: "COMPENSATING",
            step: i + 1,
            pastPivot: false,
            state: this.encode(def, state),
            retryIn: this.backoffSeconds(1),
            attempt: true,
            error: errorText(ce),
          });
        } catch (re) {
          this.o.log.error({ err: re, workflow: def.name, runId: h.id }, "could not record a compensation left to the sweep");
        }
        return;
      }
    }
    if (h.recorded && !takenOver)
      await this.update(this.o.db, h, { status: "COMPENSATED", step: 0, pastPivot: false }).catch((e) =>
        this.o.log.warn({ err: e, workflow: def.name, runId: h.id }, "could not record a compensated workflow run"),
      );
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Takes up to `limit` runs whose lease ran out (and whose retry is due), of the workflows this
   * runner knows, and resumes or compensates each. Runs in parallel processes never take one run twice.
   */
  async recover(limit = 20): Promise<SweepReport> {
    const report: SweepReport = { resumed: 0, compensated: 0, retrying: 0, failed: 0 };
    const names = [...this.defs.keys()];
    if (!names.length) return report;
    const token = randomUUID();
    const rows = await unaudited(() =>
      this.o.db.$queryRawUnsafe<WorkflowRunRow[]>(
        `UPDATE "WorkflowRun" SET "owner" = $1, "leaseUntil" = now() + make_interval(secs => $2::double precision), "attempts" = "attempts" + 1, "updatedAt" = now()
         WHERE "id" IN (
           SELECT "id" FROM "WorkflowRun"
           WHERE "status" IN ('RUNNING', 'COMPENSATING') AND "leaseUntil" < now()
             AND ("nextAttemptAt" IS NULL OR "nextAttemptAt" <= now()) AND "workflow" = ANY($3::text[])
           ORDER BY "leaseUntil" LIMIT $4 FOR UPDATE SKIP LOCKED)
           AND "status" IN ('RUNNING', 'COMPENSATING') AND "leaseUntil" < now()
         RETURNING ${COLUMNS}`,
        token,
        this.leaseMs / 1000,
        names,
        limit,
      ),
    );
    for (const row of rows) {
      const outcome = await this.recoverRow(row, token);
      report[outcome]++;
    }
    return report;
  }

  private async recoverRow(row: WorkflowRunRow, token: string): Promise<keyof SweepReport> {
    const def = this.defs.get(row.workflow) as AnyDefinition<Tx>;
    const h: Handle = { id: row.id, token, recorded: true, pastPivot: row.pastPivot, closed: false };
    const state = def.decode ? def.decode(row.state) : row.state;
    const log = { workflow: def.name, runId: row.id, attempt: row.attempts };
    try {
      if (row.pastPivot) {
        this.o.log.info(log, "resuming a workflow run past its pivot");
        await this.forward(def, h, state, row.step, this.hooks, true);
        recoveryCounter(this.o.domain, def.name, "resumed").inc();
        return "resumed";
      }
      this.o.log.info(log, "compensating a workflow run that stopped before its pivot");
      // A RUNNING run may have done any remote step before the pivot; a COMPENSATING one recorded what is left.
      const upTo = row.status === "RUNNING" ? this.pivotIndex(def) : row.step;
      for (let i = upTo - 1; i >= 0; i--) {
        const step = def.steps[i] as Step<unknown, Tx>;
        if (!step.compensate || step.skip?.(state)) continue;
        try {
          await this.hooks.beforeCompensate?.(step.id);
          await step.compensate(state);
        } catch (ce) {
          compensationFailureCounter(this.o.domain, def.name).inc();
          throw Object.assign(new RecoveryFailed(ce), { step: i + 1 });
        }
      }
      await this.update(this.o.db, h, { status: "COMPENSATED", step: 0, pastPivot: false });
      recoveryCounter(this.o.domain, def.name, "compensated").inc();
      return "compensated";
    } catch (e) {
      if (e instanceof WorkflowTakenOver) return "retrying";
      const failed = e instanceof WorkflowFailed ? e.cause : e instanceof RecoveryFailed ? e.cause : e;
      const giveUp = row.attempts >= this.maxAttempts;
      const fields = row.pastPivot
        ? { status: (giveUp ? "FAILED" : "RUNNING") as RunStatus, step: await this.currentStep(row.id, row.step), pastPivot: true }
        : {
            status: (giveUp ? "FAILED" : "COMPENSATING") as RunStatus,
            step: e instanceof RecoveryFailed ? e.step : row.step,
            pastPivot: false,
          };
      this.o.log[giveUp ? "error" : "warn"](
        { ...log, err: failed },
        giveUp ? "workflow recovery ran out of attempts: FAILED, an operator must look" : "workflow recovery failed; retried later",
      );
      // the attempt was counted when the sweep claimed the run; a FAILED run waits for an operator
      await this.update(this.o.db, h, {
        ...fields,
        retryIn: giveUp ? undefined : this.backoffSeconds(row.attempts),
        error: errorText(failed),
      }).catch((re) => this.o.log.error({ ...log, err: re }, "could not record a failed workflow recovery"));
      recoveryCounter(this.o.domain, def.name, giveUp ? "failed" : "retrying").inc();
      return giveUp ? "failed" : "retrying";
    }
  }

  /** The step a forward recovery reached (recorded by its local steps; it never went back). */
  private async currentStep(id: string, fallback: number): Promise<number> {
    const r = await this.o.db.$queryRawUnsafe<Array<{ step: number }>>(`SELECT "step" FROM "WorkflowRun" WHERE "id" = $1`, id);
    return r[0]?.step ?? fallback;
  }

  /**
   * One sweep: recovers due runs until none is left (bounded), under the domain's Redis lock when
   * the runner has Redis (another process sweeping: this one returns at once). Concurrent calls in
   * one process share one sweep.
   */
  sweep(maxBatches = 10): Promise<SweepReport> {
    this.sweeping ??= this.sweepLocked(maxBatches).finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepLocked(maxBatches: number): Promise<SweepReport> {
    const total: SweepReport = { resumed: 0, compensated: 0, retrying: 0, failed: 0 };
    const { redis, redisPrefix } = this.o;
    const lock = redis && redisPrefix !== undefined ? keyFor(redisPrefix, this.o.domain)("workflow-sweep") : undefined;
    const token = randomUUID();
    if (redis && lock && (await redis.set(lock, token, "PX", this.leaseMs, "NX")) !== "OK") return total;
    try {
      for (let i = 0; i < maxBatches; i++) {
        const r = await this.recover();
        for (const k of Object.keys(total) as Array<keyof SweepReport>) total[k] += r[k];
        if (r.resumed + r.compensated + r.retrying + r.failed === 0) break;
        if (redis && lock) await redis.pexpire(lock, this.leaseMs);
      }
      return total;
    } finally {
      if (redis && lock) await lockReleaser(redis)(lock, token).catch(() => undefined);
    }
  }

  /** Sweeps now (start-up) and every `everyMs`; prunes finished runs hourly. Returns the stop function. */
  start(everyMs = 5000, keepDays = 7): () => Promise<void> {
    let lastPrune = 0;
    return periodic(
      everyMs,
      async () => {
        await this.sweep();
        if (Date.now() - lastPrune > 3_600_000) {
          lastPrune = Date.now();
          await this.prune(keepDays);
        }
      },
      (e) => this.o.log.warn({ err: e, domain: this.o.domain }, "workflow sweep failed"),
      0,
    );
  }

  /** Deletes runs that finished (COMPLETED, COMPENSATED) more than `days` ago. */
  prune(days = 7): Promise<number> {
    return unaudited(() =>
      this.o.db.$executeRawUnsafe(
        `DELETE FROM "WorkflowRun" WHERE "status" IN ('COMPLETED', 'COMPENSATED') AND "leaseUntil" < now() - make_interval(days => $1::int)`,
        days,
      ),
    );
  }

  // ---------------------------------------------------------------- operators

  /** Runs FAILED, and (with `all`) every unfinished one, oldest first. */
  runs(opts: { status?: RunStatus[]; first?: number } = {}): Promise<WorkflowRunRow[]> {
    const first = Math.min(Math.max(opts.first ?? 50, 1), 500);
    return this.o.db.$queryRawUnsafe<WorkflowRunRow[]>(
      `SELECT ${COLUMNS} FROM "WorkflowRun" WHERE "status" = ANY($1::text[]) ORDER BY "updatedAt", "id" LIMIT $2`,
      opts.status ?? ["FAILED"],
      first,
    );
  }

  async get(id: string): Promise<WorkflowRunRow | null> {
    const r = await this.o.db.$queryRawUnsafe<WorkflowRunRow[]>(`SELECT ${COLUMNS} FROM "WorkflowRun" WHERE "id" = $1`, id);
    return r[0] ?? null;
  }

  /**
   * An operator's retry of a FAILED run: its attempts start again and it is recovered now (the
   * answer shows the outcome: COMPLETED / COMPENSATED, or FAILED again after one more attempt
   * when the cause is still there — then it goes back to the sweep's backoff first). Null: no such
   * FAILED run.
   */
  async retry(id: string): Promise<WorkflowRunRow | null> {
    const n = await unaudited(() =>
      this.o.db.$executeRawUnsafe(
        `UPDATE "WorkflowRun" SET "status" = CASE WHEN "pastPivot" THEN 'RUNNING' ELSE 'COMPENSATING' END, "attempts" = 0,
           "nextAttemptAt" = NULL, "leaseUntil" = now() - interval '1 millisecond', "updatedAt" = now()
         WHERE "id" = $1 AND "status" = 'FAILED'`,
        id,
      ),
    );
    if (n !== 1) return null;
    const token = randomUUID();
    const rows = await unaudited(() =>
      this.o.db.$queryRawUnsafe<WorkflowRunRow[]>(
        `UPDATE "WorkflowRun" SET "owner" = $2, "leaseUntil" = now() + make_interval(secs => $3::double precision), "attempts" = "attempts" + 1
         WHERE "id" = $1 AND "status" IN ('RUNNING', 'COMPENSATING') AND "leaseUntil" < now() RETURNING ${COLUMNS}`,
        id,
        token,
        this.leaseMs / 1000,
      ),
    );
    const row = rows[0];
    if (row && this.defs.has(row.workflow)) await this.recoverRow(row, token);
    return this.get(id);
  }

  /** Unfinished and FAILED runs per workflow and status (the /metrics gauge). */
  async counts(): Promise<Array<{ workflow: string; status: string; n: number }>> {
    const rows = await this.o.db.$queryRawUnsafe<Array<{ workflow: string; status: string; n: bigint | number }>>(
      `SELECT "workflow", "status", count(*) AS n FROM "WorkflowRun" WHERE "status" IN ('RUNNING', 'COMPENSATING', 'FAILED') GROUP BY 1, 2`,
    );
    return rows.map((r) => ({ workflow: r.workflow, status: r.status, n: Number(r.n) }));
  }
}

class RecoveryFailed extends Error {
  step = 0;
  constructor(public readonly cause: unknown) {
    super(errorText(cause));
  }
}

function errorText(e: unknown): string {
  return String((e as Error)?.message ?? e).slice(0, 1000);
}

/** A run as the domains' admin API shows it (the GraphQL type WorkflowRun, the same in every subgraph). */
export function workflowRunView(r: WorkflowRunRow) {
  return {
    id: r.id,
    workflow: r.workflow,
    status: r.status,
    step: r.step,
    pastPivot: r.pastPivot,
    attempts: r.attempts,
    lastError: r.lastError,
    state: JSON.stringify(r.state),
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    nextAttemptAt: r.nextAttemptAt ? new Date(r.nextAttemptAt).toISOString() : null,
  };
}

/** The admin list of a domain's runs (its `admin<Domain>WorkflowRuns` field, workflow:read). */
export async function listWorkflowRuns<Tx extends WorkflowSql>(
  runner: WorkflowRunner<Tx>,
  args: { status?: readonly RunStatus[] | null; first?: number | null },
): Promise<Array<ReturnType<typeof workflowRunView>>> {
  return (await runner.runs({ status: args.status ? [...args.status] : undefined, first: args.first ?? 50 })).map(workflowRunView);
}

/** An operator's retry of a FAILED run (its `adminRetry<Domain>WorkflowRun` field, workflow:write); null when none. */
export async function retryWorkflowRun<Tx extends WorkflowSql>(
  runner: WorkflowRunner<Tx>,
  id: string,
): Promise<ReturnType<typeof workflowRunView> | null> {
  const run = await runner.retry(id);
  return run && workflowRunView(run);
}
