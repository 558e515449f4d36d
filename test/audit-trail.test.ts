/**
 * The audit trail across domains (decision 0024), real PostgreSQL and Redis: catalog's operator
 * mutations (a price edit, an inbound of stock, taking a product off the shelf) write their entries
 * into catalog's outbox in the same transaction as the change; the relay carries them to member's
 * worker, which appends them to the trail operators read with `adminAuditEntries`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Identity } from "@mallgraph/platform/auth";
import { loadConfig } from "@mallgraph/platform/config";
import { outboxAuditEntries, waitFor } from "@mallgraph/platform/testing";
import { ok, smallCatalog, startHarness, type Harness as CatalogHarness } from "../subgraphs/catalog/test/helpers.ts";
import { adminIdentity, createHarness, type Harness as MemberHarness } from "../subgraphs/member/test/helpers.ts";

const UPDATE_SKU = `mutation($id: ID!, $input: SkuUpdateInput!) { adminUpdateSku(id: $id, input: $input) { id price } }`;
const INBOUND = `mutation($skuId: ID!, $q: Int!) { adminInboundStock(skuId: $skuId, quantity: $q, note: "PO-7") { available } }`;
const OFF = `mutation($id: ID!) { adminTakeOffShelf(id: $id) { id status } }`;
const ENTRIES = `query($f: AuditFilter) { adminAuditEntries(filter: $f, first: 50) { items { service operation actorId requestId targetType targetId changes { entity entityId op before after } } } }`;

describe("audit trail: catalog's operator mutations reach member's trail", () => {
  let member: MemberHarness;
  let catalog: CatalogHarness;
  let admin: Identity;
  let cat: Awaited<ReturnType<typeof smallCatalog>>;

  beforeAll(async () => {
    member = await createHarness({ workers: true });
    admin = await adminIdentity(member);
    // catalog on the same Redis prefix, so its relay feeds member's audit worker
    catalog = await startHarness({
      config: loadConfig({ NODE_ENV: "test", REDIS_URL: member.config.REDIS_URL, REDIS_PREFIX: member.config.REDIS_PREFIX } as any),
    });
    cat = await smallCatalog(catalog.services, { skus: 2, stock: 5 });
  });
  afterAll(async () => {
    await catalog?.stop();
    await member?.close();
  });

  it("a price edit, an inbound and a take-off: before/after in catalog's outbox, committed with the change", async () => {
    const sku = cat.product.skus[0]!;
    ok(await catalog.gql(UPDATE_SKU, { id: sku.id, input: { price: "5999.00" } }, admin));
    ok(await catalog.gql(INBOUND, { skuId: sku.id, q: 7 }, admin));
    ok(await catalog.gql(OFF, { id: cat.product.id }, admin));
    const db = catalog.services.prisma;

    const [price] = await outboxAuditEntries(db, "adminUpdateSku");
    expect(price).toMatchObject({ service: "catalog", actorKind: "admin", actorId: admin.id, targetType: "Sku", targetId: sku.id });
    const skuChange = price!.changes.find((c) => c.entity === "Sku")!;
    expect(skuChange).toMatchObject({ id: sku.id, op: "update" });
    expect((skuChange.before as any).price).toBe("6999");
    expect((skuChange.after as any).price).toBe("5999");
    expect(await db.sku.findUnique({ where: { id: sku.id } })).toMatchObject({ id: sku.id });

    const [inbound] = await outboxAuditEntries(db, "adminInboundStock");
    const inv = inbound!.changes.find((c) => c.entity === "Inventory")!;
    expect(inv).toMatchObject({ id: sku.id, op: "update" });
    expect((inv.before as any).available).toBe(5);
    expect((inv.after as any).available).toBe(12);
    expect(inbound!.changes.find((c) => c.entity === "InboundRecord")).toMatchObject({
      op: "create",
      before: null,
      after: { quantity: 7, note: "PO-7", operatorId: admin.id },
    });

    const [off] = await outboxAuditEntries(db, "adminTakeOffShelf");
    const spu = off!.changes.find((c) => c.entity === "Spu")!;
    expect(spu).toMatchObject({ id: cat.product.id, before: { status: "ON_SHELF" }, after: { status: "OFF_SHELF" } });
  });

  it("a refused mutation (nothing changed) leaves no row change; a FORBIDDEN one leaves nothing at all", async () => {
    const sku = cat.product.skus[1]!;
    const before = (await outboxAuditEntries(catalog.services.prisma)).length;
    const price = (await catalog.services.prisma.sku.findUnique({ where: { id: sku.id } }))!.price.toString();
    const bad = await catalog.gql(UPDATE_SKU, { id: sku.id, input: { price: "-1" } }, admin);
    expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const weak = await catalog.gql(UPDATE_SKU, { id: sku.id, input: { price: "1.00" } }, { ...admin, permissions: ["catalog:read"] });
    expect(weak.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await outboxAuditEntries(catalog.services.prisma)).length).toBe(before);
    expect((await catalog.services.prisma.sku.findUnique({ where: { id: sku.id } }))!.price.toString()).toBe(price);
  });

  it("the relay carries them to member's trail, newest first, filterable by target", async () => {
    await catalog.services.outbox!.relay.drain();
    const items = await waitFor(async () => {
      const r = (await member.ok(ENTRIES, { f: { actorId: admin.id } }, admin)).adminAuditEntries.items.filter(
        (e: any) => e.service === "catalog",
      );
      return r.length >= 3 ? r : null;
    }, "catalog's entries in member's trail");
    expect(items.map((e: any) => e.operation).slice(0, 3)).toEqual(["adminTakeOffShelf", "adminInboundStock", "adminUpdateSku"]);
    const sku = cat.product.skus[0]!;
    const bySku = (await member.ok(ENTRIES, { f: { targetId: sku.id } }, admin)).adminAuditEntries.items;
    expect(bySku.map((e: any) => e.operation).sort()).toEqual(["adminInboundStock", "adminUpdateSku"]);
    const change = bySku.find((e: any) => e.operation === "adminUpdateSku").changes.find((c: any) => c.entity === "Sku");
    expect([JSON.parse(change.before).price, JSON.parse(change.after).price]).toEqual(["6999", "5999"]);
    // relaying again adds nothing (the entry id is the outbox key and the table's key)
    await catalog.services.prisma.$executeRawUnsafe(`UPDATE "Outbox" SET "sentAt" = NULL`);
    await catalog.services.outbox!.relay.drain();
    await new Promise((r) => setTimeout(r, 500));
    expect(await member.sg.services.prisma.auditEntry.count({ where: { service: "catalog" } })).toBe(3);
  });
});
