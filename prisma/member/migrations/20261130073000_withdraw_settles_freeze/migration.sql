-- Money leaves the platform only out of a freeze: WITHDRAW (a paid-out withdrawal, a refunded
-- top-up) settles the FREEZE of its reference like UNFREEZE and CAPTURE do, and excludes them.
DROP INDEX "LedgerEntry_one_settlement_per_freeze";
CREATE UNIQUE INDEX "LedgerEntry_one_settlement_per_freeze" ON "LedgerEntry" ("accountId", "reference") WHERE "type" IN ('UNFREEZE', 'CAPTURE', 'WITHDRAW');
