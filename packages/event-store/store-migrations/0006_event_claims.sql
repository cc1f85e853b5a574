-- Eras (src/eras.ts): an event received in the first 24 hours of a tenant's newer store claims
-- its id here, in each older store whose events it could duplicate. A claimed id is a duplicate
-- to this store's writes, so two copies of an event on either side of an era's start are stored
-- once. A claim is purged by retention once no copy can still arrive (src/eras.ts, CLAIM_KEEP_MS).
CREATE TABLE event_claims (
  event_id TEXT PRIMARY KEY,
  claimed_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
