-- CreateEnum
CREATE TYPE "InboxKind" AS ENUM ('ORDER_PAID', 'ORDER_SHIPPED', 'AFTER_SALE_DECIDED', 'COUPON_EXPIRING', 'PRIZE_DELIVERED', 'RED_ENVELOPE_RECEIVED');

-- CreateTable
CREATE TABLE "InboxMessage" (
    "id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "memberId" TEXT NOT NULL,
    "kind" "InboxKind" NOT NULL,
    "title" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "readAt" TIMESTAMP(3),
    "notifiedAt" TIMESTAMP(3),

    CONSTRAINT "InboxMessage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "InboxMessage_key_key" ON "InboxMessage"("key");

-- CreateIndex
CREATE INDEX "InboxMessage_memberId_createdAt_idx" ON "InboxMessage"("memberId", "createdAt");

-- The unread count of a member (myMessages, markMessagesRead) reads only unread rows.
CREATE INDEX "InboxMessage_unread_idx" ON "InboxMessage"("memberId") WHERE "readAt" IS NULL;
