/**
 * What operators see and do with a domain's workflow runs (decision 0031): the runs listed, one
 * retried, the /metrics gauge, and the views the domains' admin API answers with. `WorkflowRunner`
 * is the runner with all of it (runner.ts, extended by recovery.ts, extended here).
 */
import { randomUUID } from "node:crypto";
import { unaudited } from "../audit-scope.ts";
import { reportWorkflowRuns } from "../metrics.ts";
import { RecoveringWorkflowRunner } from "./recovery.ts";
import { COLUMNS, type RunStatus, type WorkflowRunnerOptions, type WorkflowRunRow, type WorkflowSql } from "./types.ts";

export class WorkflowRunner<Tx extends WorkflowSql> extends RecoveringWorkflowRunner<Tx> {
  constructor(o: WorkflowRunnerOptions<Tx>) {
    super(o);
    reportWorkflowRuns(o.domain, () => this.counts());
  }

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
    // reset and lease in ONE statement: a sweep running meanwhile cannot take the run between the two
    // (it did, on a loaded host: the operator's retry answered the sweep's run, still COMPENSATING)
    const token = randomUUID();
    const rows = await unaudited(() =>
      this.o.db.$queryRawUnsafe<WorkflowRunRow[]>(
        `UPDATE "WorkflowRun" SET "status" = CASE WHEN "pastPivot" THEN 'RUNNING' ELSE 'COMPENSATING' END, "attempts" = 1,
           "nextAttemptAt" = NULL, "owner" = $2, "leaseUntil" = now() + make_interval(secs => $3::double precision), "updatedAt" = now()
         WHERE "id" = $1 AND "status" = 'FAILED' RETURNING ${COLUMNS}`,
        id,
        token,
        this.leaseMs / 1000,
      ),
    );
    const row = rows[0];
    if (!row) return null;
    if (this.defs.has(row.workflow)) await this.recoverRow(row, token);
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
