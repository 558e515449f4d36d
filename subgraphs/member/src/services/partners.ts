/**
 * Partner API keys: operators create (the key is answered once; only its sha256 is stored) and
 * revoke them. PostgreSQL is the record; each live key is mirrored into Redis for the gateway
 * (@mallgraph/platform/partner-keys), re-mirrored at start (a Redis that lost it gets it back) and
 * removed at revocation — the gateway's ≤ 500 ms cache makes a revocation hold within a second.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  DEFAULT_PARTNER_OPERATIONS,
  dropPartnerKeyMirror,
  hashPartnerKey,
  mirrorPartnerKey,
  newPartnerKey,
  type PartnerKeyRecord,
} from "@mallgraph/platform/partner-keys";
import type { Redis } from "@mallgraph/platform/redis";
import { badInput, notFound } from "../errors.ts";
import type { PrismaClient, PartnerKey } from "../generated/prisma/client.ts";
import { text } from "./rules.ts";

const MANIFEST = path.resolve(import.meta.dirname, "../../../../schema/operations/manifest.json");

/** Names of the trusted manifest's operations (schema/operations/manifest.json). */
export function manifestOperationNames(file = MANIFEST): Set<string> {
  return new Set((JSON.parse(readFileSync(file, "utf8")) as { operations: Array<{ name: string }> }).operations.map((o) => o.name));
}

const record = (k: PartnerKey): PartnerKeyRecord => ({
  id: k.id,
  name: k.name,
  operations: k.operations,
  rateLimitPerMinute: k.rateLimitPerMinute,
});

export function createPartnerKeyService(
  prisma: PrismaClient,
  redis: Redis,
  prefix: string,
  operationNames: Set<string> = manifestOperationNames(),
) {
  return {
    async create(
      operatorId: string,
      input: { name: string; operations?: readonly string[] | null; rateLimitPerMinute?: number | null },
    ): Promise<PartnerKey & { key: string }> {
      const name = text(input.name, "name", 100);
      const operations = [...new Set(input.operations ?? DEFAULT_PARTNER_OPERATIONS)];
      if (operations.length > operationNames.size) throw badInput("too many operations", { field: "operations" });
      const unknown = operations.filter((o) => !operationNames.has(o));
      if (unknown.length)
        throw badInput(`not trusted manifest operations: ${unknown.slice(0, 5).join(", ").slice(0, 200)}`, { field: "operations" });
      const limit = input.rateLimitPerMinute ?? null;
      if (limit !== null && (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000))
        throw badInput("rateLimitPerMinute must be 1..1000000", { field: "rateLimitPerMinute" });
      const key = newPartnerKey();
      const keyHash = hashPartnerKey(key);
      const row = await prisma.partnerKey.create({ data: { name, keyHash, operations, rateLimitPerMinute: limit, createdBy: operatorId } });
      await mirrorPartnerKey(redis, prefix, keyHash, record(row));
      return { ...row, key };
    },

    async revoke(id: string): Promise<PartnerKey> {
      const existing = typeof id === "string" && id.length <= 64 ? await prisma.partnerKey.findUnique({ where: { id } }) : null;
      if (!existing) throw notFound("partner key", typeof id === "string" ? id.slice(0, 64) : undefined);
      const row = existing.revokedAt ? existing : await prisma.partnerKey.update({ where: { id }, data: { revokedAt: new Date() } });
      await dropPartnerKeyMirror(redis, prefix, row.keyHash);
      return row;
    },

    /** Mirrors every live key into Redis again (at start). */
    async remirror(): Promise<number> {
      const live = await prisma.partnerKey.findMany({ where: { revokedAt: null } });
      for (const k of live) await mirrorPartnerKey(redis, prefix, k.keyHash, record(k));
      return live.length;
    },
  };
}

export type PartnerKeyService = ReturnType<typeof createPartnerKeyService>;
