-- AlterTable
ALTER TABLE "Member" ADD COLUMN     "closedAt" TIMESTAMP(3);
