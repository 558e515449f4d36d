/** Operators (the admin realm) and RBAC: roles, permissions, role-permission, operator-role. */
import { alreadyExists, badInput, invalidCredentials, isUniqueViolation, notFound } from "../errors.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import { isPermission, PERMISSIONS } from "../permissions.ts";
import type { LoginLock } from "./loginLock.ts";
import { hashPassword, verifyPassword } from "./password.ts";
import { assertPassword, assertUsername, deviceOf, text } from "./rules.ts";
import type { SessionService, IssuedTokens } from "./sessions.ts";

export interface RoleView {
  id: string;
  name: string;
  description: string | null;
  permissions: string[];
}
export interface OperatorView {
  id: string;
  username: string;
  disabled: boolean;
  roles: RoleView[];
  permissions: string[];
}

const ROLE_INCLUDE = { permissions: { select: { permission: true } } } as const;

export function createAdminService(prisma: PrismaClient, sessions: SessionService, lock: LoginLock) {
  async function operator(id: string): Promise<OperatorView | null> {
    const op = await prisma.operator.findUnique({ where: { id }, include: { roles: { include: { role: { include: ROLE_INCLUDE } } } } });
    if (!op) return null;
    const roles = op.roles.map(({ role }) => ({
      id: role.id,
      name: role.name,
      description: role.description,
      permissions: role.permissions.map((p) => p.permission).sort(),
    }));
    const permissions = [...new Set(roles.flatMap((r) => r.permissions))].sort();
    return { id: op.id, username: op.username, disabled: op.disabled, roles, permissions };
  }

  async function mustOperator(id: string): Promise<OperatorView> {
    const op = await operator(id);
    if (!op) throw notFound("operator", id);
    return op;
  }

  return {
    operator,

    async login(usernameIn: string, password: string, deviceIn?: string | null): Promise<IssuedTokens & { operator: OperatorView }> {
      const username = typeof usernameIn === "string" ? usernameIn.trim() : "";
      const device = deviceOf(deviceIn);
      if (!username || username.length > 64 || typeof password !== "string" || password.length > 128) throw invalidCredentials();
      const attempt = await lock.begin("admin", username);
      const op = await attempt.run(async () => {
        const o = await prisma.operator.findUnique({ where: { username } });
        if (!(await verifyPassword(password, o?.passwordHash)) || !o || o.disabled) throw invalidCredentials();
        return o;
      });
      const view = await mustOperator(op.id);
      const tokens = await sessions.create({ realm: "admin", subject: op.id, device, permissions: view.permissions });
      return { ...tokens, operator: view };
    },

    async roles(): Promise<RoleView[]> {
      const roles = await prisma.role.findMany({ include: ROLE_INCLUDE, orderBy: { name: "asc" } });
      return roles.map((r) => ({
        id: r.id,
        name: r.name,
        description: r.description,
        permissions: r.permissions.map((p) => p.permission).sort(),
      }));
    },

    permissions(): Array<{ name: string; description: string }> {
      return Object.entries(PERMISSIONS).map(([name, description]) => ({ name, description }));
    },

    async createRole(nameIn: string, permissions: string[], descriptionIn?: string | null): Promise<RoleView> {
      const name = text(nameIn, "name", 50);
      const description = descriptionIn == null ? null : text(descriptionIn, "description", 200);
      const unknown = (permissions ?? []).filter((p) => !isPermission(p));
      if (unknown.length) throw badInput(`unknown permissions: ${unknown.join(", ")}`, { field: "permissions" });
      const perms = [...new Set(permissions)];
      try {
        const r = await prisma.role.create({
          data: { name, description, permissions: { create: perms.map((permission) => ({ permission })) } },
          include: ROLE_INCLUDE,
        });
        return { id: r.id, name: r.name, description: r.description, permissions: r.permissions.map((p) => p.permission).sort() };
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyExists("role");
        throw e;
      }
    },

    async assignRole(operatorId: string, roleId: string): Promise<OperatorView> {
      await mustOperator(operatorId);
      if (!(await prisma.role.findUnique({ where: { id: roleId } }))) throw notFound("role", roleId);
      await prisma.operatorRole.upsert({
        where: { operatorId_roleId: { operatorId, roleId } },
        create: { operatorId, roleId },
        update: {},
      });
      return mustOperator(operatorId);
    },

    async createOperator(usernameIn: string, password: string, roleIds: string[] = []): Promise<OperatorView> {
      const username = assertUsername(usernameIn);
      assertPassword(password);
      const ids = [...new Set(roleIds ?? [])];
      const found = await prisma.role.count({ where: { id: { in: ids } } });
      if (found !== ids.length) throw notFound("role");
      const passwordHash = await hashPassword(password);
      try {
        const op = await prisma.operator.create({ data: { username, passwordHash, roles: { create: ids.map((roleId) => ({ roleId })) } } });
        return mustOperator(op.id);
      } catch (e) {
        if (isUniqueViolation(e)) throw alreadyExists("username");
        throw e;
      }
    },
  };
}
export type AdminService = ReturnType<typeof createAdminService>;
