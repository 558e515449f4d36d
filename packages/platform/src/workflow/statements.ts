/**
 * The runner's statements of one event-loop turn as one statement (decision 0056): the local steps'
 * one statements (`StepContext.statement`) — or, through a loader of their own, the unflushed first
 * records (never mixed with durable writes: `synchronous_commit = off` holds for the whole
 * transaction). One round trip and one commit where each paid its own; each part answers whether its
 * run's record was written, as alone (run-sql.ts builds the SQL).
 */
import DataLoader from "dataloader";
import { unaudited } from "../audit-scope.ts";
import { asError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { statementSql, type StatementPart } from "./run-sql.ts";
import type { WorkflowSql } from "./types.ts";

/** Parts per statement: each size is one more prepared text per connection. */
const MAX_STATEMENT_BATCH = 16;

/** A loader of statement parts answering each part's written-record count; `batch` false: one statement each. */
export function statementBatcher(db: WorkflowSql, log: Logger, batch: boolean): DataLoader<StatementPart, number> {
  return new DataLoader((parts) => runStatements(db, log, parts), { cache: false, maxBatchSize: batch ? MAX_STATEMENT_BATCH : 1 });
}

/**
 * A statement PostgreSQL refused as a whole (an error with a SQLSTATE: nothing of it was written; e.g.
 * one part's unique violation) runs each part alone, so only the part that fails alone fails; so does
 * a batch whose SQL could not be built (a step's builder threw; nothing was sent). Any other error (a
 * connection lost, perhaps around the commit) fails every part with it, as it would have failed each
 * alone.
 */
async function runStatements(db: WorkflowSql, log: Logger, parts: readonly StatementPart[]): Promise<Array<number | Error>> {
  const send = async (q: { sql: string; values: unknown[] }, n: number) => {
    const rows = await unaudited(() => db.$queryRawUnsafe<Array<Record<string, number>>>(q.sql, ...q.values));
    return Array.from({ length: n }, (_, k) => Number(rows[0]?.[`r${k}`]));
  };
  const alone = () =>
    Promise.all(
      parts.map((p) =>
        Promise.resolve()
          .then(() => send(statementSql([p]), 1))
          .then(([n]) => n as number, asError),
      ),
    );
  let q: { sql: string; values: unknown[] };
  try {
    q = statementSql(parts);
  } catch (e) {
    return parts.length === 1 ? [asError(e)] : alone();
  }
  try {
    return await send(q, parts.length);
  } catch (e) {
    if (parts.length === 1 || typeof (e as { code?: unknown } | null)?.code !== "string") return parts.map(() => asError(e));
    log.info({ err: e, parts: parts.length }, "a batch of workflow statements failed as a whole; each runs alone");
    return alone();
  }
}
