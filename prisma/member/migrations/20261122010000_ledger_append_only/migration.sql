-- Hand-written: the wallet ledger is append-only. A ledger row is never changed or removed once
-- written (a correction is a new row), whatever code or person talks to the database.
-- (PL/pgSQL body: prisma.config.ts sends a migration as one script, as the native engine does.)
CREATE OR REPLACE FUNCTION ledger_entry_append_only()
RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'LedgerEntry is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER "LedgerEntry_no_update_delete" BEFORE UPDATE OR DELETE ON "LedgerEntry"
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only();
CREATE TRIGGER "LedgerEntry_no_truncate" BEFORE TRUNCATE ON "LedgerEntry"
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_append_only();
