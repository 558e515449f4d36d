/**
 * Order's member port reads an address from member's mirror in Redis (decision 0054) when the entry
 * counts, and asks member otherwise — a missing entry, one of an older version, Redis unreachable.
 * Member here is a closed port: a call to it fails SERVICE_UNAVAILABLE, which shows that a call was made.
 */
import { ADDRESS_MIRROR_VERSION, addressMirrorField, addressMirrorKey, type AddressSnapshot } from "@mallgraph/platform/contracts/member";
import { createRedis } from "@mallgraph/platform/redis";
import { createTestRedis } from "@mallgraph/platform/testing";
import { afterAll, describe, expect, it } from "vitest";
import { memberPort } from "../src/services/ports.ts";

const t = createTestRedis();
const redis = createRedis(t.url);
afterAll(async () => {
  redis.disconnect();
  await t.cleanup();
});

const NO_MEMBER = "http://127.0.0.1:9/graphql";
const secret = "member-port-test-secret-0123456789abcdef";
const address: AddressSnapshot = {
  id: "6f1c2b1e-0000-4000-8000-000000000001",
  receiver: "Li",
  phone: "13912345678",
  region: "Hangzhou",
  detail: "Road 1",
};

async function mirror(memberId: string, version: string | null, entryVersion: string) {
  const key = addressMirrorKey(t.prefix, memberId);
  if (version !== null) await redis.hset(key, ADDRESS_MIRROR_VERSION, version);
  await redis.hset(key, addressMirrorField(address.id), `${entryVersion}\t${JSON.stringify(address)}`);
}

describe("order's member port and the address mirror", () => {
  const port = memberPort(NO_MEMBER, secret, { redis, prefix: t.prefix });

  it("answers a counting entry without calling member (version absent = 0, or equal)", async () => {
    await mirror("m1", null, "0");
    expect(await port.address("m1", address.id)).toEqual(address);
    await mirror("m2", "7", "7");
    expect(await port.address("m2", address.id)).toEqual(address);
  });

  it("asks member for an entry of an older version, a missing one, another member's", async () => {
    await mirror("m3", "8", "7");
    for (const [m, a] of [
      ["m3", address.id],
      ["m2", "6f1c2b1e-0000-4000-8000-000000000002"],
      ["m4", address.id],
    ] as const)
      await expect(port.address(m, a)).rejects.toMatchObject({ extensions: { code: "SERVICE_UNAVAILABLE" } });
  });

  it("asks member when Redis cannot answer", async () => {
    const dead = createRedis(t.url);
    dead.disconnect();
    const p = memberPort(NO_MEMBER, secret, { redis: dead, prefix: t.prefix });
    await mirror("m5", null, "0");
    await expect(p.address("m5", address.id)).rejects.toMatchObject({ extensions: { code: "SERVICE_UNAVAILABLE" } });
  });
});
