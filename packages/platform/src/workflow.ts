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
 *   (`skip(state)`), else by one update at the end. A local step made as one statement
 *   (`ctx.statement`) shares it with the other runs' that reach theirs in the same event-loop turn:
 *   one round trip and one commit for several, each fenced and answered as alone (decision 0056).
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
 *   the earlier steps are undone all the same. A workflow's `firstRecordGuard` refuses a run in its
 *   first record's own statement, before any step (decision 0050).
 *
 * The runner speaks raw SQL, so any domain's Prisma client (or transaction client) works; its own
 * bookkeeping is kept out of the operator audit trail (`unaudited`).
 *
 * The code, one class in layers: workflow/runner.ts (registering and running), workflow/recovery.ts
 * (sweep, resume or compensate, prune), workflow/admin.ts (operators' reads and retry, the admin
 * views), workflow/run-sql.ts (the run record's insert and fenced update), workflow/types.ts (types and
 * errors), workflow/statements.ts (a turn's statements as one). This file is the public surface.
 */
export {
  SimulatedCrash,
  WorkflowAbort,
  WorkflowFailed,
  WorkflowTakenOver,
  type RunStatus,
  type Step,
  type StepContext,
  type SweepReport,
  type WorkflowDb,
  type WorkflowDefinition,
  type WorkflowHooks,
  type WorkflowReport,
  type WorkflowRunnerOptions,
  type WorkflowRunRow,
  type WorkflowSql,
} from "./workflow/types.ts";
export { WorkflowRunner, listWorkflowRuns, retryWorkflowRun, workflowRunView } from "./workflow/admin.ts";
