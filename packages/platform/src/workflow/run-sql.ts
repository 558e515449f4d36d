/**
 * The SQL of a run's record (decision 0031): its first insert — unflushed or guarded by the
 * workflow's `firstRecordGuard` (decision 0050) — and the update fenced by the owner's token. Pure
 * builders: the runner (runner.ts) sends them alone, inside a local step's transaction, or as the
 * first CTE of a local step's one statement.
 */
import type { Handle, RunStatus, WorkflowDefinition } from "./types.ts";

/** What a run's record writes. */
export interface RunFields {
  status: RunStatus;
  step: number;
  pastPivot: boolean;
  state: string;
}

/** The fields an update may set besides them (`state` kept when absent). */
export interface RunUpdate extends Omit<RunFields, "state"> {
  state?: string;
  /** Seconds: hand the run to the sweep (lease released, next attempt then). */
  retryIn?: number;
  /** Count one more attempt. */
  attempt?: boolean;
  error?: string;
}

/**
 * The run's insert. `unflushed`: it sets `synchronous_commit = off` for its own transaction
 * (`set_config(…, true)` is local to it; its commit reads it) — never inside a local step's.
 * `guardedBy` (the run's state): the first record, written only where the workflow's
 * `firstRecordGuard` holds (else the statement writes nothing).
 */
export function insertRunSql<S, Tx>(
  def: WorkflowDefinition<S, Tx>,
  h: Handle,
  f: RunFields,
  leaseMs: number,
  unflushed = false,
  guardedBy?: S,
): { sql: string; values: unknown[] } {
  const values: unknown[] = [h.id, def.name, f.status, f.step, f.pastPivot, f.state, h.token, leaseMs / 1000];
  const g = guardedBy !== undefined ? def.firstRecordGuard?.(guardedBy, values.length + 1) : undefined;
  if (g) values.push(...g.values);
  return {
    sql: `INSERT INTO "WorkflowRun" ("id", "workflow", "status", "step", "pastPivot", "state", "owner", "leaseUntil")
         SELECT $1::text, $2::text, $3::text, $4::int, $5::boolean, $6::jsonb, $7::text, now() + make_interval(secs => $8::double precision)
         ${unflushed ? "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed" : ""}
         ${g ? `WHERE ${g.condition}` : ""}`,
    values,
  };
}

/** The update of a run while `h` owns it (no row when another runner owns the run). */
export function updateRunSql(h: Handle, f: RunUpdate): { sql: string; values: unknown[] } {
  return {
    sql: `UPDATE "WorkflowRun" SET "status" = $3, "step" = $4, "pastPivot" = $5, "state" = COALESCE($6::jsonb, "state"), "updatedAt" = now(),
           "leaseUntil" = CASE WHEN $7::double precision IS NULL THEN "leaseUntil" ELSE now() END,
           "nextAttemptAt" = CASE WHEN $7::double precision IS NULL THEN NULL ELSE now() + make_interval(secs => $7::double precision) END,
           "attempts" = "attempts" + $8::int,
           "lastError" = CASE WHEN $3 IN ('COMPLETED', 'COMPENSATED') THEN NULL ELSE COALESCE($9, "lastError") END
         WHERE "id" = $1 AND "owner" = $2`,
    values: [
      h.id,
      h.token,
      f.status,
      f.step,
      f.pastPivot,
      f.state ?? null,
      f.retryIn ?? null,
      f.attempt ? 1 : 0,
      f.error?.slice(0, 1000) ?? null,
    ],
  };
}

/** A local step's one statement (`StepContext.statement`): the run's record and the step's writes. */
export interface StatementPart {
  record: { sql: string; values: unknown[] };
  /** The step's writes; none for a run's first record alone. */
  build?: (firstParam: number, cte: (name: string) => string) => { ctes: string; values: unknown[] };
}

/**
 * The SQL of one or more local steps' statements — or of runs' unflushed first records — as ONE
 * statement (decision 0056): part k's run
 * record is the CTE `"run"` (alone) or `"run_k"`, its step's CTEs are named through `cte` (`"o"`
 * alone, `"o_k"` in a batch), its `$n` follow the parts before it, and the answer has one column per
 * part, `r<k>`: 1 when that part's record was written (the run is still this runner's), else 0. The
 * data-modifying CTEs all run, each joined to its own part's run record only.
 */
export function statementSql(parts: readonly StatementPart[]): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const ctes: string[] = [];
  const counts: string[] = [];
  parts.forEach((p, k) => {
    const cte = (name: string) => (parts.length === 1 ? `"${name}"` : `"${name}_${k}"`);
    const shift = values.length;
    const record = shift ? p.record.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`) : p.record.sql;
    values.push(...p.record.values);
    const step = p.build?.(values.length + 1, cte);
    if (step) values.push(...step.values);
    ctes.push(`${cte("run")} AS (${record} RETURNING 1)${step ? `, ${step.ctes}` : ""}`);
    counts.push(`(SELECT count(*) FROM ${cte("run")})::int AS "r${k}"`);
  });
  return { sql: `WITH ${ctes.join(", ")} SELECT ${counts.join(", ")}`, values };
}
