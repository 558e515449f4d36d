/**
 * The workflow runner's forward path (decision 0031): registering workflows, running one — steps in
 * order, the run recorded with its local steps, compensation before the pivot — and the row updates
 * the recovery (recovery.ts) and the operators' retry (admin.ts) share. workflow.ts tells the whole story.
 */
import { randomUUID } from "node:crypto";
import type DataLoader from "dataloader";
import { unaudited } from "../audit-scope.ts";
import { insertRunSql, updateRunSql, type RunFields, type RunUpdate, type StatementPart } from "./run-sql.ts";
import { statementBatcher } from "./statements.ts";
import {
  TX_OPTIONS,
  SimulatedCrash,
  WorkflowAbort,
  WorkflowFailed,
  WorkflowTakenOver,
  compensationFailureCounter,
  errorText,
  type AnyDefinition,
  type Handle,
  type RunStatus,
  type Step,
  type StepContext,
  type WorkflowDefinition,
  type WorkflowHooks,
  type WorkflowReport,
  type WorkflowRunnerOptions,
  type WorkflowSql,
} from "./types.ts";

export class WorkflowRunnerCore<Tx extends WorkflowSql> {
  protected readonly defs = new Map<string, AnyDefinition<Tx>>();
  protected readonly leaseMs: number;
  protected readonly maxAttempts: number;
  protected readonly backoffMs: number;
  protected readonly maxBackoffMs: number;
  hooks: WorkflowHooks;
  /** The local steps' statements of one event-loop turn, as one statement (decision 0056). */
  private readonly statements: DataLoader<StatementPart, number>;
  /** The unflushed first records of one turn (`firstRecordUnflushed` workflows), as one statement (decision 0056). */
  private readonly unflushedFirstRecords: DataLoader<StatementPart, number>;

  constructor(protected readonly o: WorkflowRunnerOptions<Tx>) {
    const batch = o.batchStatements ?? process.env.WORKFLOW_STATEMENT_BATCH !== "off";
    this.statements = statementBatcher(o.db, o.log, batch);
    this.unflushedFirstRecords = statementBatcher(o.db, o.log, batch);
    this.leaseMs = o.leaseMs ?? 30_000;
    this.maxAttempts = o.maxAttempts ?? 8;
    this.backoffMs = o.backoffMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 300_000;
    this.hooks = o.hooks ?? {};
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

  protected pivotIndex(def: AnyDefinition<Tx>): number {
    return def.steps.findIndex((s) => s.id === def.pivot);
  }

  private encode<S>(def: WorkflowDefinition<S, Tx>, state: S): string {
    return JSON.stringify(def.encode ? def.encode(state) : state);
  }

  /** Runs steps `from`… forward. */
  protected async forward<S>(
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
    let renew = false;
    for (let i = from; i < def.steps.length; i++) {
      const step = def.steps[i] as Step<S, Tx>;
      if (step.skip?.(state)) continue;
      let invoked = false;
      try {
        // a recovery's lease (fresh at its claim) is renewed before each further step (recovery.ts)
        if (recovering && renew) await this.renewLease(h);
        renew = true;
        if (!h.recorded && !step.local) await this.insertFirst(def, h, state, i);
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
          statement: async (build) => {
            const inserting = !h.recorded;
            const fields = this.localFields(def, h, state, i, pivot);
            const record = inserting ? insertRunSql(def, h, fields, this.leaseMs, false, state) : updateRunSql(h, fields);
            if ((await this.statements.load({ record, build })) !== 1) {
              // a fresh insert that wrote nothing: the first record's guard did not hold
              if (inserting && def.firstRecordGuard) throw new WorkflowAbort(this.guardAbort(def, state));
              throw new WorkflowTakenOver(h.id);
            }
            this.afterLocal(def, h, state, i);
            transacted = true;
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
        if (e instanceof WorkflowAbort && !done.some((d) => def.steps[d]?.compensate)) {
          // refused before any step did something to undo (e.g. the first step's own refusal): nothing
          // happened, so the run leaves no record either (decision 0049)
          if (h.recorded)
            await this.forget(h).catch((fe) =>
              this.o.log.warn({ err: fe, workflow: def.name, runId: h.id }, "could not forget a refused run"),
            );
          h.closed = true;
          (e as WorkflowAbort & { report?: WorkflowReport }).report = report;
          throw e;
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
    const fields = this.localFields(def, h, state, i, pivot);
    if (h.recorded) await this.update(tx, h, fields);
    else if (!(await this.insertRow(tx, def, h, fields, false, state))) throw new WorkflowAbort(this.guardAbort(def, state));
  }

  /** What a local step's record writes: COMPLETED when nothing after it remains to run. */
  private localFields<S>(def: WorkflowDefinition<S, Tx>, h: Handle, state: S, i: number, pivot: number) {
    const status: RunStatus = this.remaining(def, state, i) ? "RUNNING" : "COMPLETED";
    return { status, step: i + 1, pastPivot: h.pastPivot || i >= pivot, state: this.encode(def, state) };
  }

  /**
   * After a local step's transaction committed. The pivot counts as passed only once the step
   * returned: a step that fails after its commit (an answer lost) is undone like any other.
   */
  private afterLocal<S>(def: WorkflowDefinition<S, Tx>, h: Handle, state: S, i: number): void {
    h.recorded = true;
    if (!this.remaining(def, state, i)) h.closed = true;
  }

  /**
   * The run's first record, before its first remote step: unflushed when the workflow says so
   * (`firstRecordUnflushed`), and written only when its `firstRecordGuard` holds (else the run aborts).
   */
  private async insertFirst<S>(def: WorkflowDefinition<S, Tx>, h: Handle, state: S, step: number): Promise<void> {
    const f = { status: "RUNNING" as const, step, pastPivot: false, state: this.encode(def, state) };
    const written = def.firstRecordUnflushed
      ? await this.unflushedFirstRecords.load({ record: insertRunSql(def, h, f, this.leaseMs, true, state) })
      : await this.insertRow(this.o.db, def, h, f, false, state);
    if (!written) throw new WorkflowAbort(this.guardAbort(def, state));
    h.recorded = true;
  }

  /** The abort code of a first record that wrote nothing (only a guard can make it so). */
  private guardAbort<S>(def: WorkflowDefinition<S, Tx>, state: S): string {
    const code = def.firstRecordGuard?.(state, 1).abort;
    if (!code) throw new Error(`workflow ${def.name}: the run's first record wrote nothing`);
    return code;
  }

  /** A later first record (the run did something before it could be recorded): no guard. */
  private async insert<S>(sql: WorkflowSql, def: WorkflowDefinition<S, Tx>, h: Handle, state: S, step: number, status: RunStatus) {
    await this.insertRow(sql, def, h, { status, step, pastPivot: h.pastPivot, state: this.encode(def, state) });
    h.recorded = true;
  }

  private insertRow<S>(
    sql: WorkflowSql,
    def: WorkflowDefinition<S, Tx>,
    h: Handle,
    f: RunFields,
    unflushed = false,
    guardedBy?: S,
  ): Promise<number> {
    const q = insertRunSql(def, h, f, this.leaseMs, unflushed, guardedBy);
    return unaudited(() => sql.$executeRawUnsafe(q.sql, ...q.values));
  }

  /**
   * Updates the run while `h` owns it (else WorkflowTakenOver). `retryIn` (seconds): hand it to the
   * sweep (lease released, next attempt then); `attempt`: count one more attempt.
   */
  protected async update(sql: WorkflowSql, h: Handle, f: RunUpdate): Promise<void> {
    const q = updateRunSql(h, f);
    const n = await unaudited(() => sql.$executeRawUnsafe(q.sql, ...q.values));
    if (n !== 1) throw new WorkflowTakenOver(h.id);
  }

  /** Deletes the run while `h` owns it (a refused run with nothing to undo); another runner's run is left alone. */
  private async forget(h: Handle): Promise<void> {
    await unaudited(() => this.o.db.$executeRawUnsafe(`DELETE FROM "WorkflowRun" WHERE "id" = $1 AND "owner" = $2`, h.id, h.token));
  }

  /** Renews the lease of a run `h` owns (else WorkflowTakenOver): another `leaseMs` from now. */
  protected async renewLease(h: Handle): Promise<void> {
    const n = await unaudited(() =>
      this.o.db.$executeRawUnsafe(
        `UPDATE "WorkflowRun" SET "leaseUntil" = now() + make_interval(secs => $3::double precision) WHERE "id" = $1 AND "owner" = $2`,
        h.id,
        h.token,
        this.leaseMs / 1000,
      ),
    );
    if (n !== 1) throw new WorkflowTakenOver(h.id);
  }

  protected backoffSeconds(attempts: number): number {
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
}
