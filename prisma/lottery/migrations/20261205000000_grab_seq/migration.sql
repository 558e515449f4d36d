-- Grabs carry their number among the rain's grabs (decision 0032): a gap is a grab lost before it reached PostgreSQL.
ALTER TABLE "RedEnvelopeGrab" ADD COLUMN "seq" INTEGER;

-- CreateIndex
CREATE INDEX "RedEnvelopeGrab_rainId_seq_idx" ON "RedEnvelopeGrab"("rainId", "seq");
