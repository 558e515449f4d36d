/**
 * A small saga runner: steps run in order; when one fails, the compensations of the steps that
 * completed run in reverse (most recent first). A step marked `pivot` is the point of no return:
 * once it succeeded, later failures are recovered forwards (jobs), never compensated.
 */
import type { Logger } from "@mallgraph/platform/log";

export interface Step<S> {
  id: string;
  invoke(state: S): Promise<void>;
  /** Undoes invoke; idempotent. */
  compensate?(state: S): Promise<void>;
  /** Also compensate when invoke itself failed unexpectedly (its effect may have happened, e.g. a timed-out call). */
  compensateOnError?: boolean;
  pivot?: boolean;
}

/** A business refusal raised by a step (INSUFFICIENT_BALANCE, …). */
export class WorkflowAbort extends Error {
  constructor(readonly code: string) {
    super(`workflow aborted: ${code}`);
    this.name = "WorkflowAbort";
  }
}

export type WorkflowResult =
  | { ok: true; completed: string[] }
  | { ok: false; failedStep: string; error: unknown; compensated: string[]; compensationFailed?: string; pastPivot: boolean };

export async function runWorkflow<S>(name: string, steps: Step<S>[], state: S, log?: Logger): Promise<WorkflowResult> {
  const done: Step<S>[] = [];
  let pastPivot = false;
  for (const step of steps) {
    try {
      await step.invoke(state);
    } catch (error) {
      if (step.compensateOnError && !(error instanceof WorkflowAbort)) done.push(step);
      const compensated: string[] = [];
      if (!pastPivot) {
        for (const s of [...done].reverse()) {
          if (!s.compensate) continue;
          try {
            await s.compensate(state);
            compensated.push(s.id);
          } catch (e) {
            log?.error({ err: e, workflow: name, step: s.id }, "compensation failed; left for recovery");
            return { ok: false, failedStep: step.id, error, compensated, compensationFailed: s.id, pastPivot };
          }
        }
      }
      return { ok: false, failedStep: step.id, error, compensated, pastPivot };
    }
    done.push(step);
    if (step.pivot) pastPivot = true;
  }
  return { ok: true, completed: done.map((s) => s.id) };
}
