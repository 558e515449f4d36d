/** Partner API keys: created by operators (shown once, stored hashed, mirrored for the gateway), revoked. */
import type { Identity } from "@mallgraph/platform/auth";
import { DEFAULT_PARTNER_OPERATIONS, hashPartnerKey, readPartnerKey } from "@mallgraph/platform/partner-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestOperationNames } from "../src/services/partners.ts";
import { adminIdentity, createHarness, registerMember, type Harness } from "./helpers.ts";

const CREATE = `mutation($name: String!, $operations: [String!], $rateLimitPerMinute: Int) {
  adminCreatePartnerKey(name: $name, operations: $operations, rateLimitPerMinute: $rateLimitPerMinute) { id name key operations rateLimitPerMinute createdAt revokedAt } }`;
const REVOKE = `mutation($id: ID!) { adminRevokePartnerKey(id: $id) { id key revokedAt } }`;
const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;

describe("partner keys", () => {
  let h: Harness;
  let admin: Identity;
  beforeAll(async () => {
    h = await createHarness({ workers: true });
    admin = await adminIdentity(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  const mirror = (key: string) => readPartnerKey(h.sg.services.redis, h.config.REDIS_PREFIX, hashPartnerKey(key));

  it("the default operations are anonymous read operations of the trusted manifest", () => {
    const names = manifestOperationNames();
    for (const op of DEFAULT_PARTNER_OPERATIONS) expect(names.has(op), op).toBe(true);
  });

  it("creates a key shown once: stored as its sha256 only, mirrored for the gateway with its operations and limit", async () => {
    const d = await h.ok(CREATE, { name: "acme" }, admin);
    const k = d.adminCreatePartnerKey;
    expect(k).toMatchObject({ name: "acme", operations: [...DEFAULT_PARTNER_OPERATIONS], rateLimitPerMinute: null, revokedAt: null });
    expect(k.key).toMatch(/^mgp_[A-Za-z0-9_-]{43}$/);
    const row = await h.sg.services.prisma.partnerKey.findUniqueOrThrow({ where: { id: k.id } });
    expect(row.keyHash).toBe(hashPartnerKey(k.key));
    expect(JSON.stringify(row)).not.toContain(k.key);
    expect(row.createdBy).toBe(admin.id);
    expect(await mirror(k.key)).toEqual({ id: k.id, name: "acme", operations: [...DEFAULT_PARTNER_OPERATIONS], rateLimitPerMinute: null });

    const custom = (await h.ok(CREATE, { name: "beta", operations: ["Product", "Product", "Me"], rateLimitPerMinute: 120 }, admin))
      .adminCreatePartnerKey;
    expect(custom.operations).toEqual(["Product", "Me"]);
    expect((await mirror(custom.key))?.rateLimitPerMinute).toBe(120);
  });

  it("refuses bad input with BAD_USER_INPUT and writes nothing; members and operators without partner:write are refused", async () => {
    const before = await h.sg.services.prisma.partnerKey.count();
    for (const vars of [
      { name: "" },
      { name: "x".repeat(101) },
      { name: "n", operations: ["NotInTheManifest"] },
      { name: "n", rateLimitPerMinute: 0 },
      { name: "n", rateLimitPerMinute: 1_000_001 },
    ]) {
      expect(code(await h.gql(CREATE, vars, admin)), JSON.stringify(vars)).toBe("BAD_USER_INPUT");
    }
    const m = await registerMember(h);
    expect(code(await h.gql(CREATE, { name: "mine" }, m.identity))).toBe("UNAUTHENTICATED");
    expect(code(await h.gql(CREATE, { name: "mine" }, { ...admin, permissions: ["member:read"] }))).toBe("FORBIDDEN");
    expect(code(await h.gql(CREATE, { name: "mine" }))).toBe("UNAUTHENTICATED");
    expect(await h.sg.services.prisma.partnerKey.count()).toBe(before);
  });

  it("revokes: revokedAt set once, the mirror gone (the gateway refuses the key); an unknown id is NOT_FOUND", async () => {
    const k = (await h.ok(CREATE, { name: "gamma" }, admin)).adminCreatePartnerKey;
    const first = (await h.ok(REVOKE, { id: k.id }, admin)).adminRevokePartnerKey;
    expect(first.revokedAt).not.toBeNull();
    expect(first.key).toBeNull();
    expect(await mirror(k.key)).toBeNull();
    expect((await h.ok(REVOKE, { id: k.id }, admin)).adminRevokePartnerKey.revokedAt).toBe(first.revokedAt);
    expect(code(await h.gql(REVOKE, { id: "00000000-0000-0000-0000-000000000000" }, admin))).toBe("NOT_FOUND");
  });

  it("mirrors every live key again at start (a Redis that lost them), never a revoked one", async () => {
    const live = (await h.ok(CREATE, { name: "delta" }, admin)).adminCreatePartnerKey;
    const gone = (await h.ok(CREATE, { name: "epsilon" }, admin)).adminCreatePartnerKey;
    await h.ok(REVOKE, { id: gone.id }, admin);
    await h.sg.services.redis.del(`${h.config.REDIS_PREFIX}:{member}:partnerKey:${hashPartnerKey(live.key)}`);
    expect(await mirror(live.key)).toBeNull();
    await h.sg.services.partners.remirror();
    expect((await mirror(live.key))?.id).toBe(live.id);
    expect(await mirror(gone.key)).toBeNull();
  });
});
