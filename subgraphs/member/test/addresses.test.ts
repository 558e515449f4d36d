import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, registerMember, type Harness } from "./helpers.ts";

const code = (r: { errors?: Array<{ extensions?: { code?: string } }> }) => r.errors?.[0]?.extensions?.code;
const ADD = `mutation($i: AddressInput!) { addAddress(input: $i) { id receiver isDefault } }`;
const LIST = `{ me { addresses { id receiver isDefault } } }`;
const input = (receiver: string, isDefault?: boolean) => ({
  receiver,
  phone: "13912345678",
  region: "Shanghai Pudong",
  detail: "Century Ave 100",
  isDefault,
});

describe("shipping addresses: exactly one default", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ workers: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const defaults = (list: Array<{ isDefault: boolean; receiver: string }>) => list.filter((a) => a.isDefault).map((a) => a.receiver);

  it("first becomes default, a new default unsets the old, deleting the default promotes another", async () => {
    const m = await registerMember(h);
    const a = (await h.ok(ADD, { i: input("A") }, m.identity)).addAddress;
    expect(a.isDefault).toBe(true);
    const b = (await h.ok(ADD, { i: input("B") }, m.identity)).addAddress;
    expect(b.isDefault).toBe(false);
    const c = (await h.ok(ADD, { i: input("C", true) }, m.identity)).addAddress;
    expect(c.isDefault).toBe(true);
    expect(defaults((await h.ok(LIST, {}, m.identity)).me.addresses)).toEqual(["C"]);
    await h.ok(`mutation($id: ID!) { setDefaultAddress(id: $id) { id isDefault } }`, { id: a.id }, m.identity);
    expect(defaults((await h.ok(LIST, {}, m.identity)).me.addresses)).toEqual(["A"]);
    expect((await h.ok(`mutation($id: ID!) { deleteAddress(id: $id) }`, { id: a.id }, m.identity)).deleteAddress).toBe(true);
    const left = (await h.ok(LIST, {}, m.identity)).me.addresses;
    expect(left).toHaveLength(2);
    expect(defaults(left)).toHaveLength(1);
    await h.ok(`mutation($id: ID!) { deleteAddress(id: $id) }`, { id: b.id }, m.identity);
    await h.ok(`mutation($id: ID!) { deleteAddress(id: $id) }`, { id: c.id }, m.identity);
    expect((await h.ok(LIST, {}, m.identity)).me.addresses).toEqual([]);
  });

  it("updates fields; another member's address is NOT_FOUND; bad input writes nothing", async () => {
    const m = await registerMember(h);
    const other = await registerMember(h);
    const a = (await h.ok(ADD, { i: input("A") }, m.identity)).addAddress;
    const up = await h.ok(
      `mutation($id: ID!, $i: AddressUpdateInput!) { updateAddress(id: $id, input: $i) { receiver detail isDefault } }`,
      { id: a.id, i: { receiver: "A2", detail: "Room 5" } },
      m.identity,
    );
    expect(up.updateAddress).toEqual({ receiver: "A2", detail: "Room 5", isDefault: true });
    for (const q of [`mutation($id: ID!) { deleteAddress(id: $id) }`, `mutation($id: ID!) { setDefaultAddress(id: $id) { id } }`])
      expect(code(await h.gql(q, { id: a.id }, other.identity))).toBe("NOT_FOUND");
    expect(
      code(
        await h.gql(
          `mutation($id: ID!, $i: AddressUpdateInput!) { updateAddress(id: $id, input: $i) { id } }`,
          { id: a.id, i: { receiver: "X" } },
          other.identity,
        ),
      ),
    ).toBe("NOT_FOUND");
    const before = await h.sg.services.prisma.address.count();
    expect(code(await h.gql(ADD, { i: { ...input(""), receiver: "  " } }, m.identity))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(ADD, { i: { ...input("B"), phone: "call me" } }, m.identity))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(ADD, { i: { ...input("B"), detail: "x".repeat(201) } }, m.identity))).toBe("BAD_USER_INPUT");
    expect(code(await h.gql(ADD, { i: input("B") }))).toBe("UNAUTHENTICATED");
    expect(await h.sg.services.prisma.address.count()).toBe(before);
  });

  it("20 parallel adds (half asking to be default) still leave exactly one default", async () => {
    const m = await registerMember(h);
    await Promise.all(Array.from({ length: 20 }, (_, i) => h.ok(ADD, { i: input(`P${i}`, i % 2 === 0) }, m.identity)));
    const list = (await h.ok(LIST, {}, m.identity)).me.addresses;
    expect(list).toHaveLength(20);
    expect(defaults(list)).toHaveLength(1);
    expect(code(await h.gql(ADD, { i: input("too many") }, m.identity))).toBe("BAD_USER_INPUT");
    // Parallel set-default races end with one default too.
    await Promise.all(
      list.map((a: { id: string }) => h.ok(`mutation($id: ID!) { setDefaultAddress(id: $id) { id } }`, { id: a.id }, m.identity)),
    );
    expect(defaults((await h.ok(LIST, {}, m.identity)).me.addresses)).toHaveLength(1);
  });
});
