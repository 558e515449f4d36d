/**
 * A small saga runner: steps run in order; when one fails, the compensations of the steps that
 * completed run in reverse. A step may abort with a business outcome (WorkflowAbort) — the caller
 * turns it into a result code — or fail unexpectedly; either way the earlier steps are undone.
 *
 * Each step gets the shared state and only reads what it needs to undo. Steps marked `bestEffort`
 * run after the point of no return: their failure is logged and never undoes anything.
 */
import type { Logger } from "./log.ts";

export interface Step<S> {
  id: string;
  invoke(state: S): Promise<void>;
  /** Undoes invoke; must be idempotent (it may run after a partial invoke). */
  compensate?(state: S): Promise<void>;
  /** Also compensate when invoke itself threw unexpectedly (its effect may have happened, e.g. a timed-out call). */
  compensateOnError?: boolean;
  bestEffort?: boolean;
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

/**
 * Test hooks (failure injection): a hook that throws makes the workflow fail at that point.
 * `afterStep` runs once a step's invoke has succeeded, so its own compensation runs too.
 * `afterInvoke` runs as the end of the step's invoke: a throw there is the step failing after its
 * effect happened (a connection lost after COMMIT), so only a `compensateOnError` step undoes it.
 */
export interface WorkflowHooks {
  beforeStep?(stepId: string): void | Promise<void>;
  afterInvoke?(stepId: string): void | Promise<void>;
  afterStep?(stepId: string): void | Promise<void>;
}

export interface WorkflowReport {
  completed: string[];
  compensated: string[];
  compensationFailures: Array<{ step: string; error: string }>;
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

export async function runWorkflow<S>(
  name: string,
  steps: Step<S>[],
  state: S,
  opts: { hooks?: WorkflowHooks; log?: Logger } = {},
): Promise<WorkflowReport> {
  const report: WorkflowReport = { completed: [], compensated: [], compensationFailures: [] };
  const done: Step<S>[] = [];
  for (const step of steps) {
    if (step.bestEffort) {
      try {
        await opts.hooks?.beforeStep?.(step.id);
        await step.invoke(state);
        await opts.hooks?.afterStep?.(step.id);
        report.completed.push(step.id);
      } catch (e) {
        opts.log?.warn({ err: e, workflow: name, step: step.id }, "best-effort step failed");
      }
      continue;
    }
    let invoked = false;
    try {
      await opts.hooks?.beforeStep?.(step.id);
      try {
        await step.invoke(state);
        await opts.hooks?.afterInvoke?.(step.id);
        invoked = true;
      } catch (e) {
        if (step.compensateOnError && !(e instanceof WorkflowAbort)) done.push(step);
        throw e;
      }
      done.push(step);
      report.completed.push(step.id);
      await opts.hooks?.afterStep?.(step.id);
    } catch (e) {
      opts.log?.info({ workflow: name, step: step.id, invoked, reason: (e as Error).message }, "workflow step failed; compensating");
      for (const prev of done.reverse()) {
        if (!prev.compensate) continue;
        try {
          await prev.compensate(state);
          report.compensated.push(prev.id);
        } catch (ce) {
          report.compensationFailures.push({ step: prev.id, error: (ce as Error).message });
          opts.log?.error({ err: ce, workflow: name, step: prev.id }, "compensation failed");
        }
      }
      if (e instanceof WorkflowAbort) {
        (e as WorkflowAbort & { report?: WorkflowReport }).report = report;
        throw e;
      }
      throw new WorkflowFailed(e, report);
    }
  }
  return report;
}
