/**
 * Constraint violations out of Prisma, however they arrive: the model API (P2002 / P2003, with the
 * driver adapter's error under `meta.driverAdapterError`), the adapter's own DriverAdapterError, a raw query (P2010 carrying PostgreSQL's
 * SQLSTATE 23505 / 23503), a bare pg error, or any of these as the `cause` of another error.
 */

interface DbError {
  code?: string;
  /** a driver adapter error's cause: `{ kind: "UniqueConstraintViolation", originalCode: "23505" }` */
  kind?: string;
  originalCode?: string;
  message?: string;
  cause?: unknown;
  meta?: { code?: string; target?: unknown; driverAdapterError?: { cause?: { kind?: string; constraint?: { fields?: string[] } } } };
}

function violates(e: unknown, prismaCode: string, sqlState: string, kind: string, words: RegExp, depth = 0): boolean {
  const err = e as DbError | null | undefined;
  if (!err || typeof err !== "object" || depth > 5) return false;
  if (err.code === prismaCode || err.code === sqlState || err.meta?.code === sqlState || err.originalCode === sqlState || err.kind === kind)
    return true;
  if (err.code === "P2010" && JSON.stringify(err.meta ?? {}).includes(sqlState)) return true;
  if (err.meta?.driverAdapterError?.cause?.kind === kind) return true;
  if (typeof err.message === "string" && (err.message.includes(sqlState) || words.test(err.message))) return true;
  return violates(err.cause, prismaCode, sqlState, kind, words, depth + 1);
}

/** True for a unique-constraint violation (P2002, SQLSTATE 23505), however Prisma or pg reports it. */
export function isUniqueViolation(e: unknown): boolean {
  return violates(e, "P2002", "23505", "UniqueConstraintViolation", /unique constraint/i);
}

/** True for a foreign-key violation (P2003, SQLSTATE 23503), e.g. a row for an unknown parent. */
export function isForeignKeyViolation(e: unknown): boolean {
  return violates(e, "P2003", "23503", "ForeignKeyConstraintViolation", /foreign key constraint/i);
}

/**
 * The columns of a unique violation, comma-separated ("buyerId,idempotencyKey"), so a caller can
 * tell which key collided; "" when the error does not name them; null when it is no unique violation.
 */
export function uniqueViolationTarget(e: unknown): string | null {
  if (!isUniqueViolation(e)) return null;
  const err = e as DbError;
  const t = err.meta?.target ?? err.meta?.driverAdapterError?.cause?.constraint?.fields;
  return Array.isArray(t) ? t.join(",") : String(t ?? err.message ?? "");
}
