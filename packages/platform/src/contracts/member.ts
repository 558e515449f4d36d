/**
 * What member offers other domains: the wallet operations (payment's checkout, refunds and payouts;
 * lottery's red-envelope budget) and the address snapshots (order) — member `schema.graphql`, the
 * @inaccessible fields; docs/service-contracts.md. Callers import these instead of keeping copies;
 * contracts.test.ts validates every document against member's SDL.
 */
import { fieldsOf, selection } from "./fields.ts";

/** `WalletOpResult.code` as member answers it (a `String!` on the wire). */
export type WalletOpCode = "OK" | "INSUFFICIENT_BALANCE" | "INSUFFICIENT_FROZEN" | "NO_ACCOUNT" | "NO_FREEZE" | "ALREADY_SETTLED";

/** `WalletOpResult`: the outcome of one wallet operation, with the account after it. */
export interface WalletOpResult {
  code: WalletOpCode;
  balance: string | null;
  frozen: string | null;
}
export const WALLET_OP_RESULT_FIELDS = fieldsOf<WalletOpResult>()("code", "balance", "frozen");

/** A member's wallet operations, each `(memberId, currency, amount, reference)`, idempotent per reference. */
export type MemberWalletOp = "walletFreeze" | "walletUnfreeze" | "walletCaptureFrozen" | "walletCredit" | "walletTopUp" | "walletPayOut";
/** The MARKETING account's budget operations, each `(currency, amount, reference)`. */
export type MarketingBudgetOp = "marketingBudgetFreeze" | "marketingBudgetRelease";
/** Every wallet operation: a member's, the budget's, and `marketingGrant` (budget freeze → member). */
export type WalletOp = MemberWalletOp | MarketingBudgetOp | "marketingGrant";

/** The mutation of a member's wallet operation (and of `marketingGrant`): variables `m c a r`; the answer under the op's name. */
export const memberWalletOpMutation = (op: MemberWalletOp | "marketingGrant") =>
  `mutation($m: ID!, $c: String!, $a: String!, $r: String!) { ${op}(memberId: $m, currency: $c, amount: $a, reference: $r) ${selection(WALLET_OP_RESULT_FIELDS)} }`;

/** The mutation of a budget operation: variables `c a r`; the answer under the op's name. */
export const marketingBudgetMutation = (op: MarketingBudgetOp) =>
  `mutation($c: String!, $a: String!, $r: String!) { ${op}(currency: $c, amount: $a, reference: $r) ${selection(WALLET_OP_RESULT_FIELDS)} }`;

/** `AddressSnapshot`: a member's address as order copies it onto an order. */
export interface AddressSnapshot {
  id: string;
  receiver: string;
  phone: string;
  region: string;
  detail: string;
}
export const ADDRESS_SNAPSHOT_FIELDS = fieldsOf<AddressSnapshot>()("id", "receiver", "phone", "region", "detail");

/** `memberAddress(memberId, addressId)`: null when the address is not that member's. Variables `m a`. */
export const MEMBER_ADDRESS_QUERY = `query($m: ID!, $a: ID!) { memberAddress(memberId: $m, addressId: $a) ${selection(ADDRESS_SNAPSHOT_FIELDS)} }`;
/** `memberDefaultAddress(memberId)`: null when the member has none. Variable `m`. */
export const MEMBER_DEFAULT_ADDRESS_QUERY = `query($m: ID!) { memberDefaultAddress(memberId: $m) ${selection(ADDRESS_SNAPSHOT_FIELDS)} }`;

/**
 * Member's address mirror in Redis (decision 0054): one hash per member, `<prefix>:member:{addr:<memberId>}`,
 * holding the version `v` (absent: "0"; member bumps it before and after every address write's commit)
 * and, per address member answered `memberAddress` for, `a:<addressId>` → `<the version it was read
 * under>\t<AddressSnapshot JSON>`. An entry counts only while its version is the hash's: order reads
 * `HMGET key v a:<addressId>` and asks member (which fills the entry) when it does not count.
 */
export const addressMirrorKey = (prefix: string, memberId: string) => `${prefix}:member:{addr:${memberId}}`;
export const ADDRESS_MIRROR_VERSION = "v";
export const addressMirrorField = (addressId: string) => `a:${addressId}`;

/** The snapshot an address mirror entry holds while it counts (its version is the hash's), else null. */
export function addressFromMirror(version: string | null, entry: string | null): AddressSnapshot | null {
  if (entry === null) return null;
  const tab = entry.indexOf("\t");
  if (tab < 0 || entry.slice(0, tab) !== (version ?? "0")) return null;
  return JSON.parse(entry.slice(tab + 1)) as AddressSnapshot;
}
