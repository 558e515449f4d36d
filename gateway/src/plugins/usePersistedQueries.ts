/**
 * usePersistedQueries: Apollo automatic persisted queries (APQ) plus a safelist of trusted operations.
 *
 * APQ (the protocol Apollo clients speak): `extensions.persistedQuery = { version: 1, sha256Hash }`.
 * - hash only: the document comes from the manifest or from Redis (`<prefix>:{gateway}:apq:<hash>`);
 *   unknown → PERSISTED_QUERY_NOT_FOUND ("PersistedQueryNotFound"), the client then retries with the
 *   full query, which registers it.
 * - hash + query: the hash must be the query's sha256 (else BAD_USER_INPUT); the query is stored.
 *
 * Safelist: a partner (a request with an `x-api-key`, usePartnerKeys) may only run the manifest
 * operations its key names; a client whose `apollographql-client-name` matches `trustedOnly`
 * (default `partner-*`) may only run operations of schema/operations/manifest.json. Either names
 * the operation by id (the manifest id is the sha256 of the body, so APQ clients work unchanged) or
 * sends the same document (compared after normalising whitespace/formatting with graphql's
 * printer). Anything else → OPERATION_NOT_TRUSTED, whatever the client name.
 */
import { createHash } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { ErrorCode } from "@mallgraph/platform/errors";
import { entityKeyFor, type Redis } from "@mallgraph/platform/redis";
import { gatewayError } from "../errors.ts";
import { graphql } from "../graphql.ts";
import type { GatewayPlugin, GraphQLParams, RequestState } from "./types.ts";

/** One operation of an Apollo persisted-query manifest (scripts/operations.ts writes it). */
export interface ManifestOperation {
  id: string;
  name: string;
  type?: "query" | "mutation" | "subscription";
  body: string;
}
export interface Manifest {
  format?: "apollo-persisted-query-manifest";
  version?: 1;
  operations: ManifestOperation[];
}

export interface PersistedQueryOptions {
  redis: Redis;
  prefix: string;
  manifest: Manifest;
  /** Which client names are held to the safelist. Default: names starting with "partner-". */
  trustedOnly?: (clientName: string | undefined) => boolean;
  /** How long a registered APQ document is kept (seconds). */
  ttlSeconds?: number;
  /** Largest document accepted for registration (characters). */
  maxQueryLength?: number;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The canonical text of a document (graphql's printer), so formatting differences do not matter. */
export function canonical(query: string): string | undefined {
  try {
    return graphql.print(graphql.parse(query, { noLocation: true }));
  } catch {
    return undefined;
  }
}

export function loadManifest(file: string): Manifest {
  if (!existsSync(file)) return { operations: [] };
  return JSON.parse(readFileSync(file, "utf8")) as Manifest;
}

/** A registered APQ document, under its own hash tag (the documents spread over a Redis Cluster). */
export function apqKey(prefix: string, hash: string): string {
  return entityKeyFor(prefix, "gateway", "apq", hash)();
}

export function usePersistedQueries(opts: PersistedQueryOptions): GatewayPlugin {
  const ttl = opts.ttlSeconds ?? 7 * 24 * 3600;
  const maxLen = opts.maxQueryLength ?? 100_000;
  const trustedOnly = opts.trustedOnly ?? ((name) => !!name && name.startsWith("partner-"));
  const byId = new Map(opts.manifest.operations.map((o) => [o.id, o]));
  const byCanonical = new Map(opts.manifest.operations.map((o) => [canonical(o.body) ?? o.body, o]));

  const notTrusted = () =>
    gatewayError(ErrorCode.OPERATION_NOT_TRUSTED, "this client may only run the trusted manifest operations it was granted");

  async function resolve(params: GraphQLParams, state: RequestState): Promise<GraphQLParams> {
    const pq = params.extensions?.persistedQuery as { version?: number; sha256Hash?: string } | undefined;
    const partner = state.partner;
    const restricted = !!partner || trustedOnly(state.clientName);
    const allowed = (op: ManifestOperation | undefined) => !!op && (!partner || partner.operations.includes(op.name));
    let query = params.query ?? undefined;
    if (pq) {
      if (pq.version !== 1 || typeof pq.sha256Hash !== "string" || !/^[0-9a-f]{64}$/i.test(pq.sha256Hash)) {
        throw gatewayError(ErrorCode.BAD_USER_INPUT, "unsupported persisted query: expected version 1 and a sha256Hash");
      }
      const hash = pq.sha256Hash.toLowerCase();
      if (query === undefined || query === null || query === "") {
        const trusted = byId.get(hash);
        if (trusted && restricted && !allowed(trusted)) throw notTrusted();
        if (trusted) query = trusted.body;
        else if (restricted) throw notTrusted();
        else {
          const stored = await opts.redis.get(apqKey(opts.prefix, hash));
          if (stored === null) throw gatewayError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound");
          query = stored;
        }
      } else {
        if (sha256(query) !== hash) throw gatewayError(ErrorCode.BAD_USER_INPUT, "provided sha does not match query");
        if (!restricted && !byId.has(hash) && query.length <= maxLen) await opts.redis.set(apqKey(opts.prefix, hash), query, "EX", ttl);
      }
    }
    if (restricted) {
      if (!query) throw notTrusted();
      if (!allowed(byId.get(sha256(query)) ?? byCanonical.get(canonical(query) ?? "\0"))) throw notTrusted();
    }
    const { persistedQuery: _pq, ...extensions } = params.extensions ?? {};
    return { ...params, query, extensions };
  }

  return {
    name: "persisted-queries",
    onParams(params: GraphQLParams, state) {
      // most requests: a document without extensions from a client held to no safelist — nothing to resolve or check
      if (!params.extensions && !state.partner && !trustedOnly(state.clientName)) return params;
      return resolve(params, state);
    },
  };
}
