/**
 * The workflow runner's recovery (decision 0031): the sweep takes runs whose lease ran out — past
 * the pivot they resume forward, before it they are compensated — retried with backoff until FAILED;
 * `start` sweeps periodically (one process at a time under a Redis lock) and prunes finished runs.
 */
import { randomUUID } from "node:crypto";
import { unaudited } from "../audit-scope.ts";
import { atMostEvery, periodic } from "../periodic.ts";
import { keyFor, lockReleaser } from "../redis.ts";
import { WorkflowRunnerCore } from "./runner.ts";
import {
  COLUMNS,
  RecoveryFailed,
  WorkflowFailed,
  WorkflowTakenOver,
  compensationFailureCounter,
  errorText,
  recoveryCounter,
  type AnyDefinition,
  type Handle,
  type RunStatus,
  type Step,
  type SweepReport,
  type WorkflowRunRow,
  type WorkflowSql,
} from "./types.ts";

export class RecoveringWorkflowRunner<Tx extends WorkflowSql> extends WorkflowRunnerCore<Tx> {
  private sweeping: Promise<SweepReport> | undefined;

  /**
   * Takes up to `limit` runs whose lease ran out (and whose retry is due), of the workflows this
   * runner knows, and resumes or compensates each. Runs in parallel processes never take one run twice.
   *
   * A run is claimed only when its recovery starts, one at a time, and its lease is renewed before each
   * of its steps: a lease covers one step's work, never the wait behind other runs. (Claimed as a batch,
   * the runs queued behind a slow recovery kept leases that ran out before this runner reached them; a
   * parallel sweep took them meanwhile and both runners compensated them, or resumed them.)
   */
  async recover(limit = 20): Promise<SweepReport> {
    const report: SweepReport = { resumed: 0, compensated: 0, retrying: 0, failed: 0 };
    const names = [...this.defs.keys()];
    if (!names.length) return report;
    const token = randomUUID();
    // a run retried within this call (a short backoff) waits for the next one
    const taken: string[] = [];
    while (taken.length < limit) {
      const [row] = await this.claim(token, names, taken);
      if (!row) break;
      taken.push(row.id);
      const outcome = await this.recoverRow(row, token);
      report[outcome]++;
    }
    return report;
  }

  /** Claims one due run (owner `token`, a fresh lease, one more attempt), none of `except`. */
  private claim(token: string, names: string[], except: string[]): Promise<WorkflowRunRow[]> {
    return unaudited(() =>
      this.o.db.$queryRawUnsafe<WorkflowRunRow[]>(
        `UPDATE "WorkflowRun" SET "owner" = $1, "leaseUntil" = now() + make_interval(secs => $2::double precision), "attempts" = "attempts" + 1, "updatedAt" = now()
         WHERE "id" = (
           SELECT "id" FROM "WorkflowRun"
           WHERE "status" IN ('RUNNING', 'COMPENSATING') AND "leaseUntil" < now()
             AND ("nextAttemptAt" IS NULL OR "nextAttemptAt" <= now()) AND "workflow" = ANY($3::text[]) AND NOT ("id" = ANY($4::text[]))
           ORDER BY "leaseUntil" LIMIT 1 FOR UPDATE SKIP LOCKED)
           AND "status" IN ('RUNNING', 'COMPENSATING') AND "leaseUntil" < now()
         RETURNING ${COLUMNS}`,
        token,
        this.leaseMs / 1000,
        names,
        except,
      ),
    );
  }

  protected async recoverRow(row: WorkflowRunRow, token: string): Promise<keyof SweepReport> {
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
      let renew = false;
      for (let i = upTo - 1; i >= 0; i--) {
        const step = def.steps[i] as Step<unknown, Tx>;
        if (!step.compensate || step.skip?.(state)) continue;
        // the lease, fresh at the claim, is renewed before each further compensation
        if (renew) await this.renewLease(h);
        renew = true;
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
      // another runner took the run over (this one's lease ran out): it is that runner's now
      if (e instanceof WorkflowTakenOver || (e instanceof WorkflowFailed && e.cause instanceof WorkflowTakenOver)) return "retrying";
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
    const prune = atMostEvery(3_600_000, () => this.prune(keepDays));
    return periodic(
      everyMs,
      async () => {
        await this.sweep();
        await prune();
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
}
