/**
 * Member's address mirror in Redis (decision 0054), which order's placement reads instead of calling
 * `memberAddress`: member fills an entry when it answers `memberAddress`, and every address write — a
 * new address, an edit, a new default, a deletion, the account's closure — makes the member's entries
 * stop counting before its commit and again after it. A row read before a write is not filled after
 * it; a write that cannot invalidate the mirror is refused and writes nothing.
 */
import { ADDRESS_MIRROR_VERSION, addressFromMirror, addressMirrorField, addressMirrorKey } from "@mallgraph/platform/contracts/member";
import { createRedis } from "@mallgraph/platform/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAddressMirror } from "../src/services/address-mirror.ts";
import { createAddressService } from "../src/services/addresses.ts";
import { createHarness, ORDER_SERVICE, registerMember, type Harness } from "./helpers.ts";

const ADD = `mutation($i: AddressInput!) { addAddress(input: $i) { id } }`;
const UPDATE = `mutation($id: ID!, $i: AddressUpdateInput!) { updateAddress(id: $id, input: $i) { id } }`;
const DELETE = `mutation($id: ID!) { deleteAddress(id: $id) }`;
const SET_DEFAULT = `mutation($id: ID!) { setDefaultAddress(id: $id) { id } }`;
const CLOSE = `mutation($p: String) { closeAccount(password: $p) { code } }`;
const ADDRESS = `query($m: ID!, $a: ID!) { memberAddress(memberId: $m, addressId: $a) { id receiver phone region detail } }`;
const input = (receiver: string) => ({ receiver, phone: "13912345678", region: "Shanghai Pudong", detail: "Century Ave 100" });

let h: Harness;
beforeAll(async () => {
  h = await createHarness({
    workers: true,
    orders: { openCount: async () => 0, exportOrders: async () => [] },
    lottery: { exportLottery: async () => ({}) },
  });
});
afterAll(async () => {
  await h?.close();
});

/** What order's placement finds in the mirror (its port's read: one HMGET). */
async function mirrored(memberId: string, addressId: string) {
  const [v, entry] = await h.sg.services.redis.hmget(
    addressMirrorKey(h.config.REDIS_PREFIX, memberId),
    ADDRESS_MIRROR_VERSION,
    addressMirrorField(addressId),
  );
  return addressFromMirror(v ?? null, entry ?? null);
}
const memberAddress = async (memberId: string, addressId: string) =>
  (await h.ok(ADDRESS, { m: memberId, a: addressId }, ORDER_SERVICE)).memberAddress;

describe("member's address mirror", () => {
  it("holds what memberAddress answered until a write of the member's addresses", async () => {
    const m = await registerMember(h);
    const a = (await h.ok(ADD, { i: input("A") }, m.identity)).addAddress.id as string;
    expect(await mirrored(m.memberId, a)).toBeNull();
    const answered = await memberAddress(m.memberId, a);
    expect(answered).toMatchObject({ id: a, receiver: "A" });
    expect(await mirrored(m.memberId, a)).toEqual(answered);

    await h.ok(UPDATE, { id: a, i: { receiver: "A2" } }, m.identity);
    expect(await mirrored(m.memberId, a)).toBeNull();
    expect(await memberAddress(m.memberId, a)).toMatchObject({ receiver: "A2" });
    expect(await mirrored(m.memberId, a)).toMatchObject({ receiver: "A2" });

    // any write of the member's addresses: a new one, a new default
    const b = (await h.ok(ADD, { i: input("B") }, m.identity)).addAddress.id as string;
    expect(await mirrored(m.memberId, a)).toBeNull();
    await memberAddress(m.memberId, a);
    await memberAddress(m.memberId, b);
    await h.ok(SET_DEFAULT, { id: b }, m.identity);
    expect(await mirrored(m.memberId, a)).toBeNull();
    expect(await mirrored(m.memberId, b)).toBeNull();

    await memberAddress(m.memberId, a);
    await h.ok(DELETE, { id: a }, m.identity);
    expect(await mirrored(m.memberId, a)).toBeNull();
    expect(await memberAddress(m.memberId, a)).toBeNull();
    expect(await mirrored(m.memberId, a)).toBeNull();
  });

  it("fills nothing for another member's address, and nothing after the account is closed", async () => {
    const m = await registerMember(h, { password: "close-me-1" });
    const other = await registerMember(h);
    const a = (await h.ok(ADD, { i: input("A") }, m.identity)).addAddress.id as string;
    expect(await memberAddress(other.memberId, a)).toBeNull();
    expect(await mirrored(other.memberId, a)).toBeNull();
    await memberAddress(m.memberId, a);
    expect(await mirrored(m.memberId, a)).toMatchObject({ receiver: "A" });
    expect((await h.ok(CLOSE, { p: "close-me-1" }, m.identity)).closeAccount).toEqual({ code: "OK" });
    expect(await mirrored(m.memberId, a)).toBeNull();
    expect(await memberAddress(m.memberId, a)).toBeNull();
  });

  it("does not fill a row read before a write once the write has bumped the version", async () => {
    const m = await registerMember(h);
    const a = (await h.ok(ADD, { i: input("old") }, m.identity)).addAddress.id as string;
    const mirror = createAddressMirror(h.sg.services.redis, h.config.REDIS_PREFIX);
    const version = await mirror.version(m.memberId);
    const readAt = performance.now();
    const oldRow = await memberAddress(m.memberId, a); // fills under `version`
    await h.ok(UPDATE, { id: a, i: { receiver: "new" } }, m.identity);
    await mirror.fill(m.memberId, version, readAt, oldRow); // the slow reader's fill, after the write
    expect(await mirrored(m.memberId, a)).toBeNull();
    // and a version read after the write fills the new row
    expect(await memberAddress(m.memberId, a)).toMatchObject({ receiver: "new" });
    expect(await mirrored(m.memberId, a)).toMatchObject({ receiver: "new" });
  });

  it("refuses an address write it cannot invalidate the mirror for, and writes nothing", async () => {
    const m = await registerMember(h);
    const dead = createRedis(h.redis.url);
    dead.disconnect();
    const addresses = createAddressService(h.sg.services.prisma, undefined, createAddressMirror(dead, h.config.REDIS_PREFIX));
    await expect(addresses.add(m.memberId, input("never"))).rejects.toMatchObject({ extensions: { code: "SERVICE_UNAVAILABLE" } });
    expect(await addresses.list(m.memberId)).toEqual([]);
  });
});
