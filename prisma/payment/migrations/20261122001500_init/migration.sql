-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "payment";

-- CreateEnum
CREATE TYPE "PaymentChannel" AS ENUM ('SANDBOX', 'WALLET', 'ALIPAY', 'WECHAT_PAY');

-- CreateEnum
CREATE TYPE "PaymentStatus" AS ENUM ('PENDING', 'SUCCEEDED', 'CLOSED', 'REFUNDED');

-- CreateEnum
CREATE TYPE "MerchantRole" AS ENUM ('OWNER', 'ADMIN', 'FINANCE');

-- CreateEnum
CREATE TYPE "RefundStatus" AS ENUM ('PENDING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "Organization" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OrganizationMember" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "role" "MerchantRole" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OrganizationMember_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Merchant" (
    "id" TEXT NOT NULL,
    "organizationId" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Merchant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PaymentApp" (
    "id" TEXT NOT NULL,
    "merchantId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "isDefault" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PaymentApp_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChannelConfig" (
    "id" TEXT NOT NULL,
    "appId" TEXT NOT NULL,
    "channel" "PaymentChannel" NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "sandboxKeys" BOOLEAN NOT NULL DEFAULT false,
    "providerAppId" TEXT,
    "merchantNo" TEXT,
    "certSerial" TEXT,
    "platformSerial" TEXT,
    "privateKeyPem" TEXT,
    "providerPublicKey" TEXT,
    "apiV3Key" TEXT,
    "gatewayUrl" TEXT,
    "tradeType" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ChannelConfig_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Payment" (
    "id" TEXT NOT NULL,
    "orderId" TEXT NOT NULL,
    "orderNo" TEXT NOT NULL,
    "buyerId" TEXT NOT NULL,
    "appId" TEXT NOT NULL,
    "merchantId" TEXT NOT NULL,
    "channel" "PaymentChannel" NOT NULL,
    "status" "PaymentStatus" NOT NULL DEFAULT 'PENDING',
    "amount" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "refundedAmount" DECIMAL(18,4) NOT NULL DEFAULT 0,
    "subject" TEXT NOT NULL,
    "checkoutRef" TEXT NOT NULL,
    "providerTradeNo" TEXT,
    "clientPayload" TEXT,
    "walletFrozen" BOOLEAN NOT NULL DEFAULT false,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "paidAt" TIMESTAMP(3),
    "closedAt" TIMESTAMP(3),
    "orderNotifiedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Payment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PaymentNotification" (
    "id" TEXT NOT NULL,
    "channel" "PaymentChannel" NOT NULL,
    "notifyId" TEXT NOT NULL,
    "paymentId" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PaymentNotification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CallbackAnomaly" (
    "id" TEXT NOT NULL,
    "channel" "PaymentChannel" NOT NULL,
    "paymentId" TEXT,
    "reason" TEXT NOT NULL,
    "detail" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CallbackAnomaly_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PaymentEvent" (
    "id" TEXT NOT NULL,
    "paymentId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "status" "PaymentStatus" NOT NULL,
    "buyerId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PaymentEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Refund" (
    "id" TEXT NOT NULL,
    "paymentId" TEXT NOT NULL,
    "amount" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "status" "RefundStatus" NOT NULL DEFAULT 'PENDING',
    "providerRefundNo" TEXT,
    "failure" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "Refund_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MerchantAccount" (
    "id" TEXT NOT NULL,
    "merchantId" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "balance" DECIMAL(18,4) NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MerchantAccount_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MerchantLedgerEntry" (
    "id" BIGSERIAL NOT NULL,
    "accountId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "amount" DECIMAL(18,4) NOT NULL,
    "balanceAfter" DECIMAL(18,4) NOT NULL,
    "paymentId" TEXT NOT NULL,
    "channel" "PaymentChannel" NOT NULL,
    "reference" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MerchantLedgerEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ReconciliationReport" (
    "id" TEXT NOT NULL,
    "date" TEXT NOT NULL,
    "channel" "PaymentChannel" NOT NULL,
    "matched" INTEGER NOT NULL,
    "localCount" INTEGER NOT NULL,
    "remoteCount" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ReconciliationReport_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ReconciliationDiff" (
    "id" TEXT NOT NULL,
    "reportId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "checkoutRef" TEXT NOT NULL,
    "paymentId" TEXT,
    "localAmount" DECIMAL(18,4),
    "channelAmount" DECIMAL(18,4),
    "currency" TEXT NOT NULL,

    CONSTRAINT "ReconciliationDiff_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SandboxKey" (
    "id" TEXT NOT NULL,
    "privateKeyPem" TEXT NOT NULL,
    "publicKeyPem" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SandboxKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SandboxTransaction" (
    "id" TEXT NOT NULL,
    "tradeNo" TEXT NOT NULL,
    "outTradeNo" TEXT NOT NULL,
    "merchantAppId" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "amount" DECIMAL(18,4) NOT NULL,
    "currency" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'WAIT_PAY',
    "notifyUrl" TEXT NOT NULL,
    "refundedAmount" DECIMAL(18,4) NOT NULL DEFAULT 0,
    "paidAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SandboxTransaction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SandboxRefund" (
    "id" TEXT NOT NULL,
    "tradeNo" TEXT NOT NULL,
    "outRefundNo" TEXT NOT NULL,
    "amount" DECIMAL(18,4) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SandboxRefund_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Organization_name_key" ON "Organization"("name");

-- CreateIndex
CREATE INDEX "OrganizationMember_memberId_idx" ON "OrganizationMember"("memberId");

-- CreateIndex
CREATE UNIQUE INDEX "OrganizationMember_organizationId_memberId_key" ON "OrganizationMember"("organizationId", "memberId");

-- CreateIndex
CREATE UNIQUE INDEX "Merchant_code_key" ON "Merchant"("code");

-- CreateIndex
CREATE UNIQUE INDEX "PaymentApp_merchantId_name_key" ON "PaymentApp"("merchantId", "name");

-- CreateIndex
CREATE INDEX "ChannelConfig_channel_providerAppId_idx" ON "ChannelConfig"("channel", "providerAppId");

-- CreateIndex
CREATE INDEX "ChannelConfig_channel_platformSerial_idx" ON "ChannelConfig"("channel", "platformSerial");

-- CreateIndex
CREATE UNIQUE INDEX "ChannelConfig_appId_channel_key" ON "ChannelConfig"("appId", "channel");

-- CreateIndex
CREATE UNIQUE INDEX "Payment_checkoutRef_key" ON "Payment"("checkoutRef");

-- CreateIndex
CREATE INDEX "Payment_orderId_idx" ON "Payment"("orderId");

-- CreateIndex
CREATE INDEX "Payment_buyerId_idx" ON "Payment"("buyerId");

-- CreateIndex
CREATE INDEX "Payment_appId_channel_paidAt_idx" ON "Payment"("appId", "channel", "paidAt");

-- CreateIndex
CREATE INDEX "Payment_status_expiresAt_idx" ON "Payment"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "PaymentNotification_paymentId_idx" ON "PaymentNotification"("paymentId");

-- CreateIndex
CREATE UNIQUE INDEX "PaymentNotification_channel_notifyId_key" ON "PaymentNotification"("channel", "notifyId");

-- CreateIndex
CREATE INDEX "CallbackAnomaly_paymentId_idx" ON "CallbackAnomaly"("paymentId");

-- CreateIndex
CREATE UNIQUE INDEX "PaymentEvent_paymentId_type_key" ON "PaymentEvent"("paymentId", "type");

-- CreateIndex
CREATE UNIQUE INDEX "Refund_reference_key" ON "Refund"("reference");

-- CreateIndex
CREATE INDEX "Refund_paymentId_idx" ON "Refund"("paymentId");

-- CreateIndex
CREATE UNIQUE INDEX "MerchantAccount_merchantId_currency_key" ON "MerchantAccount"("merchantId", "currency");

-- CreateIndex
CREATE UNIQUE INDEX "MerchantLedgerEntry_reference_key" ON "MerchantLedgerEntry"("reference");

-- CreateIndex
CREATE INDEX "MerchantLedgerEntry_paymentId_idx" ON "MerchantLedgerEntry"("paymentId");

-- CreateIndex
CREATE UNIQUE INDEX "ReconciliationReport_date_channel_key" ON "ReconciliationReport"("date", "channel");

-- CreateIndex
CREATE INDEX "ReconciliationDiff_reportId_idx" ON "ReconciliationDiff"("reportId");

-- CreateIndex
CREATE UNIQUE INDEX "SandboxTransaction_tradeNo_key" ON "SandboxTransaction"("tradeNo");

-- CreateIndex
CREATE UNIQUE INDEX "SandboxTransaction_outTradeNo_key" ON "SandboxTransaction"("outTradeNo");

-- CreateIndex
CREATE UNIQUE INDEX "SandboxRefund_outRefundNo_key" ON "SandboxRefund"("outRefundNo");

-- CreateIndex
CREATE INDEX "SandboxRefund_tradeNo_idx" ON "SandboxRefund"("tradeNo");

-- AddForeignKey
ALTER TABLE "OrganizationMember" ADD CONSTRAINT "OrganizationMember_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Merchant" ADD CONSTRAINT "Merchant_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PaymentApp" ADD CONSTRAINT "PaymentApp_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChannelConfig" ADD CONSTRAINT "ChannelConfig_appId_fkey" FOREIGN KEY ("appId") REFERENCES "PaymentApp"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Refund" ADD CONSTRAINT "Refund_paymentId_fkey" FOREIGN KEY ("paymentId") REFERENCES "Payment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MerchantAccount" ADD CONSTRAINT "MerchantAccount_merchantId_fkey" FOREIGN KEY ("merchantId") REFERENCES "Merchant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MerchantLedgerEntry" ADD CONSTRAINT "MerchantLedgerEntry_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "MerchantAccount"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ReconciliationDiff" ADD CONSTRAINT "ReconciliationDiff_reportId_fkey" FOREIGN KEY ("reportId") REFERENCES "ReconciliationReport"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written: at most one open payment per order and channel, amounts never negative and
-- refunds never exceed the amount paid.
CREATE UNIQUE INDEX "Payment_one_open_per_order_channel" ON "Payment" ("orderId", "channel") WHERE "status" = 'PENDING';
ALTER TABLE "Payment" ADD CONSTRAINT "Payment_amount_positive" CHECK ("amount" > 0);
ALTER TABLE "Payment" ADD CONSTRAINT "Payment_refunded_within_amount" CHECK ("refundedAmount" >= 0 AND "refundedAmount" <= "amount");
ALTER TABLE "Refund" ADD CONSTRAINT "Refund_amount_positive" CHECK ("amount" > 0);
ALTER TABLE "SandboxTransaction" ADD CONSTRAINT "SandboxTransaction_refunded_within_amount" CHECK ("refundedAmount" >= 0 AND "refundedAmount" <= "amount");
