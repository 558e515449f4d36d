/**
 * Organizations (with members and roles), merchants, their apps and each app's channel
 * configuration (keys). Secrets are validated on write and never leave through the API.
 */
import { isUniqueViolation } from "@mallgraph/platform/db-errors";
import { AppError, ErrorCode, badInput, notFound, defined } from "@mallgraph/platform/errors";
import { privateKey, publicKey } from "../channels/crypto.ts";
import type { Channel, ConfigHint } from "../channels/types.ts";
import type { ChannelConfig, PaymentApp, PrismaClient } from "../generated/prisma/client.ts";

export type Role = "OWNER" | "ADMIN" | "FINANCE";
const ROLES: Role[] = ["OWNER", "ADMIN", "FINANCE"];

export interface ChannelConfigInput {
  appId: string;
  channel: Channel;
  enabled: boolean;
  sandboxKeys?: boolean | null;
  providerAppId?: string | null;
  merchantNo?: string | null;
  certSerial?: string | null;
  platformSerial?: string | null;
  privateKeyPem?: string | null;
  providerPublicKey?: string | null;
  apiV3Key?: string | null;
  gatewayUrl?: string | null;
  tradeType?: string | null;
}

const name = (v: string, field: string) => {
  const s = (v ?? "").trim();
  if (!s || s.length > 100) throw badInput(`${field} must be 1-100 characters`, { field });
  return s;
};

export class MerchantService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly opts: { defaultAppId?: string } = {},
  ) {}

  organizations() {
    return this.prisma.organization.findMany({ orderBy: { createdAt: "asc" } });
  }
  organization(id: string) {
    return this.prisma.organization.findUnique({ where: { id } });
  }
  organizationMembers(organizationId: string) {
    return this.prisma.organizationMember.findMany({ where: { organizationId }, orderBy: { createdAt: "asc" } });
  }
  merchants(organizationId?: string) {
    return this.prisma.merchant.findMany({ where: organizationId ? { organizationId } : {}, orderBy: { createdAt: "asc" } });
  }
  apps(merchantId: string) {
    return this.prisma.paymentApp.findMany({ where: { merchantId }, orderBy: { createdAt: "asc" } });
  }
  accounts(merchantId: string) {
    return this.prisma.merchantAccount.findMany({ where: { merchantId }, orderBy: { currency: "asc" } });
  }
  channelConfigs(appId: string) {
    return this.prisma.channelConfig.findMany({ where: { appId }, orderBy: { channel: "asc" } });
  }

  /** Organizations where the member is staff. */
  async organizationsOf(memberId: string) {
    const rows = await this.prisma.organizationMember.findMany({
      where: { memberId },
      include: { organization: true },
      orderBy: { createdAt: "asc" },
    });
    return rows.map((r) => r.organization);
  }

  /** The member's role in the merchant's organization, or null. */
  async roleAt(memberId: string, merchantId: string): Promise<Role | null> {
    const merchant = await this.prisma.merchant.findUnique({ where: { id: merchantId } });
    if (!merchant) return null;
    const m = await this.prisma.organizationMember.findUnique({
      where: { organizationId_memberId: { organizationId: merchant.organizationId, memberId } },
    });
    return (m?.role as Role | undefined) ?? null;
  }

  async createOrganization(input: { name: string; members?: Array<{ memberId: string; role: Role }> | null }) {
    const n = name(input.name, "name");
    for (const m of input.members ?? []) {
      if (!m.memberId?.trim()) throw badInput("memberId is required", { field: "members" });
      if (!ROLES.includes(m.role)) throw badInput(`unknown role ${m.role}`, { field: "members" });
    }
    try {
      return await this.prisma.organization.create({
        data: { name: n, members: { create: (input.members ?? []).map((m) => ({ memberId: m.memberId.trim(), role: m.role })) } },
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new AppError(ErrorCode.ALREADY_EXISTS, `organization ${n} exists (or a member is listed twice)`);
      throw e;
    }
  }

  async setMember(organizationId: string, memberId: string, role: Role) {
    if (!ROLES.includes(role)) throw badInput(`unknown role ${role}`, { field: "role" });
    if (!(await this.organization(organizationId))) throw notFound("organization", organizationId);
    await this.prisma.organizationMember.upsert({
      where: { organizationId_memberId: { organizationId, memberId } },
      create: { organizationId, memberId, role },
      update: { role },
    });
    return defined(await this.organization(organizationId), `organization ${organizationId}`);
  }

  async createMerchant(input: { organizationId: string; code: string; name: string }) {
    if (!(await this.organization(input.organizationId))) throw notFound("organization", input.organizationId);
    const code = (input.code ?? "").trim();
    if (!/^[A-Za-z0-9_-]{2,40}$/.test(code)) throw badInput("code must be 2-40 letters, digits, _ or -", { field: "code" });
    try {
      return await this.prisma.merchant.create({ data: { organizationId: input.organizationId, code, name: name(input.name, "name") } });
    } catch (e) {
      if (isUniqueViolation(e)) throw new AppError(ErrorCode.ALREADY_EXISTS, `merchant ${code} exists`);
      throw e;
    }
  }

  async createApp(input: { merchantId: string; name: string; isDefault?: boolean | null }) {
    const merchant = await this.prisma.merchant.findUnique({ where: { id: input.merchantId } });
    if (!merchant) throw notFound("merchant", input.merchantId);
    const n = name(input.name, "name");
    try {
      return await this.prisma.$transaction(async (tx) => {
        if (input.isDefault) await tx.paymentApp.updateMany({ where: { isDefault: true }, data: { isDefault: false } });
        return tx.paymentApp.create({ data: { merchantId: merchant.id, name: n, isDefault: !!input.isDefault } });
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new AppError(ErrorCode.ALREADY_EXISTS, `app ${n} exists for this merchant`);
      throw e;
    }
  }

  /** Creates or replaces one channel of an app. Keys are checked to parse before anything is written. */
  async configureChannel(input: ChannelConfigInput): Promise<ChannelConfig> {
    if (!(await this.prisma.paymentApp.findUnique({ where: { id: input.appId } }))) throw notFound("app", input.appId);
    if (input.privateKeyPem) {
      try {
        privateKey(input.privateKeyPem);
      } catch {
        throw badInput("privateKeyPem is not a valid RSA private key", { field: "privateKeyPem" });
      }
    }
    if (input.providerPublicKey) {
      try {
        publicKey(input.providerPublicKey);
      } catch {
        throw badInput("providerPublicKey is not a valid public key", { field: "providerPublicKey" });
      }
    }
    if (input.apiV3Key && Buffer.byteLength(input.apiV3Key, "utf8") !== 32)
      throw badInput("apiV3Key must be 32 bytes", { field: "apiV3Key" });
    if (input.gatewayUrl && !/^https?:\/\//.test(input.gatewayUrl))
      throw badInput("gatewayUrl must be an http(s) URL", { field: "gatewayUrl" });
    const allowed: Record<string, string[]> = { ALIPAY: ["PAGE", "APP"], WECHAT_PAY: ["NATIVE", "JSAPI"] };
    if (input.tradeType && !(allowed[input.channel] ?? []).includes(input.tradeType))
      throw badInput(`tradeType ${input.tradeType} is not valid for ${input.channel}`, { field: "tradeType" });
    const data = {
      enabled: input.enabled,
      sandboxKeys: input.sandboxKeys ?? false,
      providerAppId: input.providerAppId ?? null,
      merchantNo: input.merchantNo ?? null,
      certSerial: input.certSerial ?? null,
      platformSerial: input.platformSerial ?? null,
      privateKeyPem: input.privateKeyPem ?? null,
      providerPublicKey: input.providerPublicKey ?? null,
      apiV3Key: input.apiV3Key ?? null,
      gatewayUrl: input.gatewayUrl ?? null,
      tradeType: input.tradeType ?? null,
    };
    return this.prisma.channelConfig.upsert({
      where: { appId_channel: { appId: input.appId, channel: input.channel } },
      create: { appId: input.appId, channel: input.channel, ...data },
      update: data,
    });
  }

  /** The app that takes shop orders: PAYMENT_DEFAULT_APP_ID, else the app marked default. */
  async defaultApp(): Promise<PaymentApp> {
    const app = this.opts.defaultAppId
      ? await this.prisma.paymentApp.findUnique({ where: { id: this.opts.defaultAppId } })
      : await this.prisma.paymentApp.findFirst({ where: { isDefault: true }, orderBy: { createdAt: "asc" } });
    if (!app) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "no default payment app is configured (run the seed or create one)");
    return app;
  }

  channelConfig(appId: string, channel: Channel): Promise<ChannelConfig | null> {
    return this.prisma.channelConfig.findUnique({ where: { appId_channel: { appId, channel } } });
  }

  /** The credentials a provider notification was meant for. */
  async configForHint(channel: Channel, hint: ConfigHint): Promise<ChannelConfig | null> {
    if (hint.providerAppId && channel !== "SANDBOX")
      return this.prisma.channelConfig.findFirst({ where: { channel, providerAppId: hint.providerAppId } });
    if (hint.platformSerial) return this.prisma.channelConfig.findFirst({ where: { channel, platformSerial: hint.platformSerial } });
    if (hint.outTradeNo) {
      const p = await this.prisma.payment.findUnique({ where: { checkoutRef: hint.outTradeNo }, select: { appId: true } });
      return p ? this.channelConfig(p.appId, channel) : null;
    }
    return null;
  }
}
