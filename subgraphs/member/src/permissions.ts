/** Every operator permission ("<area>:<action>"), in one place. The seed creates all of them. */
export const PERMISSIONS = {
  "member:read": "read members, their wallets and addresses",
  "member:write": "change members",
  "message:read": "read the message center",
  "currency:write": "add currencies",
  "wallet:write": "adjust wallets",
  "catalog:read": "read stock internals (reserved, sold) and inbound records",
  "catalog:write": "manage categories, brands, products and stock",
  "order:read": "read any order and the after-sale queue",
  "order:write": "manage orders, shipments and after-sales",
  "payment:read": "read payments, statements and reconciliation",
  "payment:write": "manage merchants, apps, channels and refunds",
  "promotion:write": "manage coupons, campaigns and seckill sessions",
  "lottery:read": "read lottery strategies, draws and red-envelope rains",
  "lottery:write": "manage lottery strategies, activities and red-envelope rain",
  "admin:write": "manage operators, roles and permissions",
  "partner:write": "create and revoke partner API keys",
  "audit:read": "read the audit trail of every operator mutation (who, what, when, before/after); nothing can change it",
  "redis:reconcile":
    "rebuild seckill stock and red-envelope shares in Redis from their PostgreSQL copy after Redis lost data (what had not reached PostgreSQL is counted and reported)",
  "workflow:read": "list the durable workflow runs of every domain (FAILED ones wait for an operator)",
  "workflow:write": "retry a FAILED durable workflow run",
  "queues:manage": "open the queue dashboard (Bull Board at the gateway's /admin/queues): inspect, retry and remove jobs",
} as const;

export type PermissionName = keyof typeof PERMISSIONS;
export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as PermissionName[];

export function isPermission(name: string): name is PermissionName {
  return Object.prototype.hasOwnProperty.call(PERMISSIONS, name);
}
