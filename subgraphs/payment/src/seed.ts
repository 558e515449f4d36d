/**
 * Demo data (idempotent): organization "mallgraph", merchant "mallgraph 自营" and its default app
 * "mallgraph shop" with WALLET enabled and SANDBOX enabled only where SANDBOX_ENABLED is (not production), and ALIPAY / WECHAT_PAY configured with locally
 * generated SANDBOX KEYS (not real credentials; those channels stay disabled until an operator
 * enters real ones). Also creates the sandbox provider's own key pair.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { databaseUrlOf, loadConfig, type Config } from "@mallgraph/platform/config";
import { runtimeAdapter } from "@mallgraph/platform/prisma";
import { PrismaClient, type Prisma } from "./generated/prisma/client.ts";
import { SandboxProvider } from "./sandbox/provider.ts";

export const DEMO = { organization: "mallgraph", merchantCode: "mallgraph-self", merchantName: "mallgraph 自营", app: "mallgraph shop" };

function rsaPair() {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
}

/** `sandboxEnabled` (config.SANDBOX_ENABLED) decides the SANDBOX channel: created off, and switched off when it is off. */
export async function seedPayment(prisma: PrismaClient, opts: { sandboxEnabled: boolean }): Promise<string> {
  await new SandboxProvider(prisma).init();
  const org = await prisma.organization.upsert({ where: { name: DEMO.organization }, create: { name: DEMO.organization }, update: {} });
  const merchant = await prisma.merchant.upsert({
    where: { code: DEMO.merchantCode },
    create: { code: DEMO.merchantCode, name: DEMO.merchantName, organizationId: org.id },
    update: { name: DEMO.merchantName },
  });
  let app = await prisma.paymentApp.findUnique({ where: { merchantId_name: { merchantId: merchant.id, name: DEMO.app } } });
  if (!app) {
    const hasDefault = await prisma.paymentApp.count({ where: { isDefault: true } });
    app = await prisma.paymentApp.create({ data: { merchantId: merchant.id, name: DEMO.app, isDefault: hasDefault === 0 } });
  }
  const appId = app.id;
  const upsert = async (
    channel: "SANDBOX" | "WALLET" | "ALIPAY" | "WECHAT_PAY",
    data: Omit<Prisma.ChannelConfigUncheckedCreateInput, "appId" | "channel">,
  ) => {
    const existing = await prisma.channelConfig.findUnique({ where: { appId_channel: { appId, channel } } });
    if (!existing) await prisma.channelConfig.create({ data: { appId, channel, ...data } });
  };
  await upsert("SANDBOX", { enabled: opts.sandboxEnabled, providerAppId: "sandbox-mallgraph" });
  if (!opts.sandboxEnabled)
    await prisma.channelConfig.updateMany({ where: { channel: "SANDBOX", enabled: true }, data: { enabled: false } });
  await upsert("WALLET", { enabled: true });
  const alipayMerchant = rsaPair();
  const alipayPlatform = rsaPair();
  await upsert("ALIPAY", {
    enabled: false,
    sandboxKeys: true,
    providerAppId: "2021000000000000-SANDBOX-KEYS",
    privateKeyPem: alipayMerchant.privateKey,
    providerPublicKey: alipayPlatform.publicKey,
    tradeType: "PAGE",
  });
  const wxMerchant = rsaPair();
  const wxPlatform = rsaPair();
  await upsert("WECHAT_PAY", {
    enabled: false,
    sandboxKeys: true,
    providerAppId: "wx-sandbox-keys",
    merchantNo: "1900000000",
    certSerial: randomBytes(20).toString("hex").toUpperCase(),
    platformSerial: `PUB_KEY_ID_SANDBOX_${randomBytes(8).toString("hex").toUpperCase()}`,
    privateKeyPem: wxMerchant.privateKey,
    providerPublicKey: wxPlatform.publicKey,
    apiV3Key: randomBytes(16).toString("hex"),
    tradeType: "NATIVE",
  });
  return `merchant "${DEMO.merchantName}" app "${DEMO.app}" (${app.id}${app.isDefault ? ", default" : ""}): ${opts.sandboxEnabled ? "SANDBOX+WALLET" : "WALLET"} enabled, ALIPAY/WECHAT_PAY with sandbox keys (disabled)`;
}

export async function seed(config: Config = loadConfig(), databaseUrl?: string): Promise<string> {
  const prisma = new PrismaClient({ adapter: runtimeAdapter(databaseUrl ?? databaseUrlOf(config, "payment")) });
  try {
    return await seedPayment(prisma, { sandboxEnabled: config.SANDBOX_ENABLED });
  } finally {
    await prisma.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await seed());
}
