/**
 * docs/errors.md — every error code (`extensions.code`) and every result `code` a client can see,
 * generated from the shared enum (packages/platform/src/errors.ts), the codes each domain declares
 * with `defineErrorCodes` in `subgraphs/<domain>/src/errors.ts` (with their meanings; decision 0030),
 * the codes the gateway and Apollo Server add, and each result type of the public schema (an enum's
 * values, or the `code: A (meaning) | B | …` line of the type's or field's description).
 *
 *   npm run docs:errors                       rewrite docs/errors.md
 *   tsx scripts/error-catalogue.ts --check    CI: fails when docs/errors.md is stale, a code of the
 *                                             shared enum has no explanation below, or a domain
 *                                             declares a shared code again
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isEnumType, isNonNullType, isObjectType, type GraphQLField, type GraphQLNamedType, type GraphQLSchema } from "graphql";
import { DOMAINS } from "../packages/platform/src/config.ts";
import { ErrorCode, meaningsOf } from "../packages/platform/src/errors.ts";
import { apiSchema } from "./api-schema.ts";

const root = path.resolve(import.meta.dirname, "..");
const out = path.join(root, "docs", "errors.md");

/** What each shared error code means for a client, and what to do about it (a domain's own codes carry theirs). */
const MEANING: Record<string, string> = {
  UNAUTHENTICATED: "No valid access token (missing, expired, wrong realm or signature). Refresh the session or sign in again.",
  FORBIDDEN: "Signed in, but the caller may not do this (an operator permission is missing, or the object belongs to someone else).",
  BAD_USER_INPUT:
    "The input is wrong (format, range, currency, size; an HTTP body over the limit answers 413 with this code). Nothing was written; `extensions` may name the field.",
  NOT_FOUND: "The object does not exist (or is not visible to the caller).",
  CONFLICT: "The change conflicts with the current state (a concurrent edit, a unique value taken).",
  RATE_LIMITED: "Too many requests from this caller; `extensions.retryAfterSeconds` says when to try again.",
  ALREADY_EXISTS: "The object exists already (e.g. a member with this phone).",
  QUERY_TOO_DEEP: "The query nests deeper than the gateway allows.",
  QUERY_TOO_COSTLY: "The query's estimated cost is over the gateway's limit: ask for fewer objects.",
  PERSISTED_QUERY_NOT_FOUND: "The hash is not registered: resend the query text with the hash (APQ), or use a manifest operation id.",
  OPERATION_NOT_TRUSTED:
    "The caller (a partner's API key, or a `partner-*` client) may run only the trusted (manifest) operations it was granted, and this is not one of them.",
  SERVICE_UNAVAILABLE: "A service behind the gateway is down or its circuit is open: retry later.",
  SERVICE_NOT_ALLOWED:
    "Between services only (never to clients): the calling service is not in the caller table of this internal field (decision 0017).",
  INTERNAL_SERVER_ERROR: "An unexpected failure; the message is masked. Report the request id (`x-request-id`).",
};

/** Codes the gateway's HTTP layer and Apollo Server answer that are not in the shared enum. */
const FRAMEWORK: Record<string, string> = {
  GRAPHQL_PARSE_FAILED: "The document is not valid GraphQL syntax (Apollo Server).",
  GRAPHQL_VALIDATION_FAILED: "The document does not validate against the schema (Apollo Server; also subscriptions).",
  BAD_REQUEST: "The HTTP request is malformed (wrong method, missing query, bad JSON).",
  PERSISTED_QUERY_NOT_SUPPORTED: "Persisted queries are not accepted on this route.",
  OPERATION_RESOLUTION_FAILURE: "The named operation is not in the document.",
  DOWNSTREAM_SERVICE_ERROR: "A subgraph answered an error the gateway passes on (its own code is kept when it has one).",
};

interface DomainCode {
  code: string;
  domain: string;
  meaning: string;
}

/** Every code a domain declares (`defineErrorCodes` in subgraphs/<domain>/src/errors.ts), by code, then domain. */
export async function domainCodes(): Promise<DomainCode[]> {
  const found: DomainCode[] = [];
  for (const domain of DOMAINS) {
    const file = path.join(root, "subgraphs", domain, "src", "errors.ts");
    if (!existsSync(file)) continue;
    const module = (await import(file)) as Record<string, unknown>;
    for (const value of Object.values(module))
      for (const [code, meaning] of Object.entries(meaningsOf(value) ?? {})) found.push({ code, domain, meaning });
  }
  return found.sort((a, b) => a.code.localeCompare(b.code) || a.domain.localeCompare(b.domain));
}

interface ResultCodes {
  type: string;
  field: string;
  codes: Array<{ code: string; meaning: string }>;
}

/** Parses `code: OK | NOT_FOUND (meaning) | …` out of a description. */
export function codesFromDescription(description: string | null | undefined, prefixed = true): Array<{ code: string; meaning: string }> {
  // A code is a whole word of 2+ capitals (not the first letter of "Outcome …").
  const list = /((?:[A-Z][A-Z0-9_]+\b(?:\s*\([^)]*\))?\s*(?:\||,|\bor\b)?\s*)+)/.source;
  const match = new RegExp(prefixed ? `\\bcodes?:\\s*${list}` : `^\\s*${list}`).exec(description ?? "");
  if (!match) return [];
  const codes: Array<{ code: string; meaning: string }> = [];
  for (const part of match[1]!.matchAll(/([A-Z][A-Z0-9_]+)\b(?:\s*\(([^)]*)\))?/g)) {
    if (!codes.some((c) => c.code === part[1])) codes.push({ code: part[1]!, meaning: (part[2] ?? "").replace(/\s+/g, " ").trim() });
  }
  return codes;
}

export function resultCodes(schema: GraphQLSchema): ResultCodes[] {
  const results: ResultCodes[] = [];
  for (const type of Object.values(schema.getTypeMap()) as GraphQLNamedType[]) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields()) as Array<GraphQLField<unknown, unknown>>) {
      if (field.name !== "code" && !field.name.endsWith("Code")) continue;
      const named = isNonNullType(field.type) ? field.type.ofType : field.type;
      if (String(named) !== "String" && !isEnumType(named)) continue; // an id or other value named code
      let codes: Array<{ code: string; meaning: string }>;
      if (isEnumType(named)) codes = named.getValues().map((v) => ({ code: v.name, meaning: v.description ?? "" }));
      else {
        const isResult = /result|payload|outcome/i.test(type.name);
        const found = [
          codesFromDescription(field.description),
          isResult ? codesFromDescription(field.description, false) : [],
          codesFromDescription(type.description),
        ];
        codes = found.find((c) => c.length > 0) ?? [];
        if (codes.length === 0 && !isResult) continue; // a value named code (a SKU's code), not an outcome
      }
      results.push({ type: type.name, field: field.name, codes });
    }
  }
  return results.sort((a, b) => a.type.localeCompare(b.type));
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderCatalogue(schema: GraphQLSchema, domain: DomainCode[]): string {
  const lines = [
    "# Error and result codes",
    "",
    "Generated by `npm run docs:errors` from `packages/platform/src/errors.ts`, the codes each domain declares in",
    "`subgraphs/<domain>/src/errors.ts`, the gateway's own codes and the result types of the public schema; CI",
    "fails when this file is stale. Two kinds of answer:",
    "",
    "- **Errors** (`errors[].extensions.code`): the request, or one field of it, failed. Expected business",
    "  refusals do not travel this way.",
    "- **Result codes** (a `code` field in a mutation's result): the request was fine and the answer is one of",
    "  these outcomes, `OK` when it did what was asked. Switch on the code, not on a message.",
    "",
    "## Errors (`extensions.code`)",
    "",
    "| code | meaning |",
    "|---|---|",
    ...Object.values(ErrorCode).map((code) => `| \`${code}\` | ${cell(MEANING[code] ?? "")} |`),
    ...Object.entries(FRAMEWORK).map(([code, meaning]) => `| \`${code}\` | ${cell(meaning)} |`),
    "",
    "### Codes of one domain",
    "",
    "A domain's own rules raise these; the same code from two domains is listed with each one's meaning.",
    "",
    "| code | domain | meaning |",
    "|---|---|---|",
    ...domain.map((d) => `| \`${d.code}\` | ${d.domain} | ${cell(d.meaning)} |`),
    "",
    "## Result codes",
    "",
  ];
  for (const r of resultCodes(schema)) {
    lines.push(`### \`${r.type}.${r.field}\``, "");
    if (r.codes.length === 0) {
      lines.push("_Not listed in the schema yet: see the field's description in `schema/api.graphql`._", "");
      continue;
    }
    lines.push("| code | meaning |", "|---|---|", ...r.codes.map((c) => `| \`${c.code}\` | ${cell(c.meaning)} |`), "");
  }
  return lines.join("\n");
}

async function main(args: string[]): Promise<number> {
  const unexplained = Object.values(ErrorCode).filter((code) => !MEANING[code]);
  const domain = await domainCodes();
  const shadowing = domain.filter((d) => (Object.values(ErrorCode) as string[]).includes(d.code));
  const text = renderCatalogue(apiSchema(), domain);
  if (args.includes("--check")) {
    let failed = false;
    if (unexplained.length) {
      failed = true;
      console.error(`error codes without an explanation in scripts/error-catalogue.ts: ${unexplained.join(", ")}`);
    }
    if (shadowing.length) {
      failed = true;
      console.error(`domains declare shared codes again: ${shadowing.map((d) => `${d.domain} ${d.code}`).join(", ")}`);
    }
    if (!existsSync(out) || readFileSync(out, "utf8") !== text) {
      failed = true;
      console.error("docs/errors.md is stale: run `npm run docs:errors`");
    }
    if (!failed) console.log("docs/errors.md is current");
    return failed ? 1 : 0;
  }
  writeFileSync(out, text);
  console.log(`wrote ${path.relative(root, out)}${unexplained.length ? ` (unexplained: ${unexplained.join(", ")})` : ""}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main(process.argv.slice(2)));
