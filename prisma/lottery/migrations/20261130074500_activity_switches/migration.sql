-- AlterTable
ALTER TABLE "Activity" ADD COLUMN     "degraded" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "drawsPerSecond" INTEGER NOT NULL DEFAULT 0;
