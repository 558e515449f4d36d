/**
 * Small REAL in-process subgraphs standing in for catalog and member in the cart/order tests: they
 * serve the internal fields of docs/service-contracts.md over an in-memory table, through the same
 * startSubgraph + signed-identity path as the real ones (so calls cross real HTTP). They are test
 * doubles of other domains, not of our own database or Redis.
 */
import { internalFields, type BaseContext } from "@mallgraph/platform/access";
import { signIdentity, type Identity } from "@mallgraph/platform/auth";
import { startSubgraph, type RunningSubgraph } from "@mallgraph/platform/subgraph";

/** The fake's caller table (the real subgraph's names more callers). */
const asInternal = internalFields({
  skuSnapshots: ["order", "cart", "promotion"],
  inventoryReserve: ["order", "promotion"],
  inventoryRelease: ["order", "promotion"],
  inventoryConfirm: ["order", "promotion"],
  memberAddress: ["order"],
  memberDefaultAddress: ["order"],
});

export interface FakeSku {
  id: string;
  spuId?: string;
  title: string;
  price: string;
  currency?: string;
  onShelf?: boolean;
  available: number;
  reserved?: number;
  sold?: number;
}

interface Reservation {
  lines: Array<{ skuId: string; quantity: number }>;
  state: "RESERVED" | "RELEASED" | "CONFIRMED";
}

const catalogSdl = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type SkuSnapshot { id: ID! spuId: ID title: String! price: String! currency: String! onShelf: Boolean! available: Int! image: String }
input StockLineInput { skuId: ID! quantity: Int! }
type ReservedSku { skuId: ID! spuId: ID! title: String! price: String! currency: String! image: String }
type StockReservationResult { code: String! failedSkuId: ID skus: [ReservedSku!] }
type Query { skuSnapshots(ids: [ID!]!): [SkuSnapshot]! }
type Mutation {
  inventoryReserve(key: String!, lines: [StockLineInput!]!, ttlSeconds: Int!): StockReservationResult!
  inventoryRelease(key: String!): Boolean!
  inventoryConfirm(key: String!): Boolean!
}`;

export interface FakeCatalog extends RunningSubgraph {
  skus: Map<string, Required<FakeSku>>;
  reservations: Map<string, Reservation>;
  put(sku: FakeSku): void;
  stock(id: string): { available: number; reserved: number; sold: number };
  calls: { reserve: number; release: number; confirm: number; snapshots: number };
  /** When set, the next calls of that field fail with a GraphQL error. */
  failNext: Partial<Record<"inventoryReserve" | "inventoryRelease" | "inventoryConfirm", number>>;
}

export async function startFakeCatalog(secret: string): Promise<FakeCatalog> {
  const skus = new Map<string, Required<FakeSku>>();
  const reservations = new Map<string, Reservation>();
  const calls = { reserve: 0, release: 0, confirm: 0, snapshots: 0 };
  const failNext: FakeCatalog["failNext"] = {};
  const maybeFail = (f: keyof FakeCatalog["failNext"]) => {
    if (failNext[f]) {
      failNext[f]! -= 1;
      throw new Error(`${f} failed (injected)`);
    }
  };
  const resolvers = {
    Query: {
      skuSnapshots: asInternal("skuSnapshots", (_p: unknown, { ids }: { ids: string[] }) => {
        calls.snapshots++;
        return ids.map((id) => {
          const s = skus.get(id);
          return s ? { ...s, image: null } : null;
        });
      }),
    },
    Mutation: {
      inventoryReserve: asInternal(
        "inventoryReserve",
        (_p: unknown, { key, lines }: { key: string; lines: Array<{ skuId: string; quantity: number }> }) => {
          calls.reserve++;
          maybeFail("inventoryReserve");
          // as the real one: when OK, each SKU of the lines (first occurrence) at its price now
          const priced = () =>
            [...new Set(lines.map((l) => l.skuId))].map((id) => {
              const s = skus.get(id)!;
              return { skuId: s.id, spuId: s.spuId, title: s.title, price: s.price, currency: s.currency, image: null };
            });
          const known = reservations.get(key);
          if (known)
            return known.state === "RELEASED"
              ? { code: "RELEASED", failedSkuId: null, skus: null }
              : { code: "OK", failedSkuId: null, skus: priced() };
          for (const l of lines) {
            const s = skus.get(l.skuId);
            if (!s) return { code: "NOT_FOUND", failedSkuId: l.skuId };
            if (!s.onShelf) return { code: "OFF_SHELF", failedSkuId: l.skuId };
            if (!Number.isInteger(l.quantity) || l.quantity < 1) return { code: "BAD_QUANTITY", failedSkuId: l.skuId };
            if (s.available < l.quantity) return { code: "OUT_OF_STOCK", failedSkuId: l.skuId };
          }
          for (const l of lines) {
            const s = skus.get(l.skuId)!;
            s.available -= l.quantity;
            s.reserved += l.quantity;
          }
          reservations.set(key, { lines, state: "RESERVED" });
          return { code: "OK", failedSkuId: null, skus: priced() };
        },
      ),
      inventoryRelease: asInternal("inventoryRelease", (_p: unknown, { key }: { key: string }) => {
        calls.release++;
        maybeFail("inventoryRelease");
        const r = reservations.get(key);
        if (!r || r.state !== "RESERVED") return true;
        for (const l of r.lines) {
          const s = skus.get(l.skuId)!;
          s.available += l.quantity;
          s.reserved -= l.quantity;
        }
        r.state = "RELEASED";
        return true;
      }),
      inventoryConfirm: asInternal("inventoryConfirm", (_p: unknown, { key }: { key: string }) => {
        calls.confirm++;
        maybeFail("inventoryConfirm");
        const r = reservations.get(key);
        if (!r || r.state !== "RESERVED") return true;
        for (const l of r.lines) {
          const s = skus.get(l.skuId)!;
          s.reserved -= l.quantity;
          s.sold += l.quantity;
        }
        r.state = "CONFIRMED";
        return true;
      }),
    },
  };
  const running = await startSubgraph<BaseContext>({
    name: "fake-catalog",
    typeDefs: catalogSdl,
    resolvers,
    port: 0,
    internalSecret: secret,
    context: (b) => b,
  });
  return {
    ...running,
    skus,
    reservations,
    calls,
    failNext,
    put(sku) {
      skus.set(sku.id, { spuId: `spu-${sku.id}`, currency: "CNY", onShelf: true, reserved: 0, sold: 0, ...sku });
    },
    stock(id) {
      const s = skus.get(id)!;
      return { available: s.available, reserved: s.reserved, sold: s.sold };
    },
  };
}

export interface FakeAddress {
  id: string;
  memberId: string;
  receiver: string;
  phone: string;
  region: string;
  detail: string;
}

const memberSdl = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type AddressSnapshot { id: ID! receiver: String! phone: String! region: String! detail: String! }
type Query { memberAddress(memberId: ID!, addressId: ID!): AddressSnapshot memberDefaultAddress(memberId: ID!): AddressSnapshot }`;

export interface FakeMember extends RunningSubgraph {
  addresses: Map<string, FakeAddress>;
  addAddress(memberId: string, id?: string): FakeAddress;
}

export async function startFakeMember(secret: string): Promise<FakeMember> {
  const addresses = new Map<string, FakeAddress>();
  const resolvers = {
    Query: {
      memberAddress: asInternal("memberAddress", (_p: unknown, { memberId, addressId }: { memberId: string; addressId: string }) => {
        const a = addresses.get(addressId);
        return a && a.memberId === memberId ? a : null;
      }),
      // The member's first address is the default (as member keeps it).
      memberDefaultAddress: asInternal(
        "memberDefaultAddress",
        (_p: unknown, { memberId }: { memberId: string }) => [...addresses.values()].find((a) => a.memberId === memberId) ?? null,
      ),
    },
  };
  const running = await startSubgraph<BaseContext>({
    name: "fake-member",
    typeDefs: memberSdl,
    resolvers,
    port: 0,
    internalSecret: secret,
    context: (b) => b,
  });
  return {
    ...running,
    addresses,
    addAddress(memberId, id = `addr-${memberId}-${addresses.size + 1}`) {
      const a = { id, memberId, receiver: "Li Lei", phone: "13800000000", region: "Shanghai", detail: "No. 1 Road" };
      addresses.set(id, a);
      return a;
    },
  };
}

/** Posts a GraphQL operation to a subgraph as `identity` (signed like the gateway does). */
export async function gql<T = any>(
  url: string,
  secret: string,
  query: string,
  variables: Record<string, unknown> = {},
  identity?: Identity,
): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (identity) headers["x-mg-identity"] = signIdentity(secret, identity);
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as any;
}

export const member = (id: string): Identity => ({ kind: "member", id, sessionId: `s-${id}` });
export const admin = (permissions: string[] = ["order:read", "order:write"]): Identity => ({ kind: "admin", id: "op-1", permissions });
export const internal = (service = "test"): Identity => ({ kind: "internal", service });
export const gateway = (id: string): Identity => ({ kind: "member", id, service: "gateway" });
