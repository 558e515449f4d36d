-- The points history is read newest first, page by page: a sequence orders the rows (createdAt
-- ties within a millisecond; the uuid id does not order).
ALTER TABLE "PointsLedger" ADD COLUMN "seq" BIGSERIAL NOT NULL;
CREATE UNIQUE INDEX "PointsLedger_seq_key" ON "PointsLedger"("seq");
CREATE INDEX "PointsLedger_memberId_seq_idx" ON "PointsLedger"("memberId", "seq");
