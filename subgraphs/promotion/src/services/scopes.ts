/**
 * Scopes of coupons and campaigns (ALL | CATEGORIES with their descendants | SPUS), checked against
 * catalog when they are created: the categories exist, the SPUs exist and sell in the promotion's
 * currency (a CNY campaign on a USD product could never apply).
 */
import { badInput } from "@mallgraph/platform/errors";
import type { CatalogPort } from "./ports.ts";

export const SCOPES = ["ALL", "CATEGORIES", "SPUS"] as const;
export type ScopeKind = (typeof SCOPES)[number];

export async function checkScope(
  catalog: CatalogPort,
  scope: ScopeKind | null | undefined,
  scopeIdsIn: readonly string[] | null | undefined,
  currency: string,
): Promise<{ scope: ScopeKind; scopeIds: string[] }> {
  const s = scope ?? "ALL";
  if (!SCOPES.includes(s)) throw badInput("unknown scope", { field: "scope" });
  const scopeIds = [...new Set(scopeIdsIn ?? [])];
  if (s === "ALL") {
    if (scopeIds.length) throw badInput("scopeIds are for CATEGORIES / SPUS scopes", { field: "scopeIds" });
    return { scope: s, scopeIds };
  }
  if (!scopeIds.length || scopeIds.length > 200 || scopeIds.some((x) => typeof x !== "string" || !x || x.length > 64))
    throw badInput("1..200 scope ids", { field: "scopeIds" });
  if (s === "CATEGORIES") {
    const known = await catalog.categoryIds();
    const missing = scopeIds.find((id) => !known.has(id));
    if (missing) throw badInput(`unknown category ${missing}`, { field: "scopeIds", reason: "UNKNOWN_CATEGORY", id: missing });
  } else {
    const spus = await catalog.spuScopes(scopeIds);
    const missing = scopeIds.find((_, i) => !spus[i]);
    if (missing) throw badInput(`unknown SPU ${missing}`, { field: "scopeIds", reason: "UNKNOWN_SPU", id: missing });
    const other = spus.find((x) => x?.currencies.some((c) => c !== currency));
    if (other)
      throw badInput(`SPU ${other.spuId} sells in ${other.currencies.join(", ")}, not ${currency}`, {
        field: "currency",
        reason: "CURRENCY_MISMATCH",
        id: other.spuId,
      });
  }
  return { scope: s, scopeIds };
}
