-- AlterEnum
ALTER TYPE "OrderKind" ADD VALUE 'PRIZE';
