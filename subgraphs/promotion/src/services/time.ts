import { badInput } from "@mallgraph/platform/errors";

/** An ISO-8601 time from the client; BAD_USER_INPUT naming `field` otherwise. */
export function parseTime(v: string, field: string): Date {
  const d = typeof v === "string" && v.length <= 40 ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw badInput(`${field} must be an ISO-8601 time`, { field });
  return d;
}
