-- The tenant register by store: a tenant past one store object has one per era
-- (packages/event-store/src/eras.ts), each reporting its own size, so a row is one store's: the
-- tenant's id and the store's object name (the tenant's id for its head, `<tenant>@<start>` for an
-- era). GET /operator/tenants adds a tenant's rows up. Bounded by the stores: a tenant has one,
-- and one more per era its retention window holds.
--
-- A table beside tenant_sizes, which it replaces: the consumer deployed before this migration
-- keeps reporting there until its new code runs, and the ingest Worker keeps reading there until
-- its own does. tenant_sizes is dropped by a later migration, once no deployed code names it.
CREATE TABLE tenant_stores (
  api_key_id TEXT NOT NULL,
  store      TEXT NOT NULL,
  bytes      INTEGER NOT NULL CHECK (bytes >= 0),
  events     INTEGER NOT NULL CHECK (events >= 0),
  counted_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (api_key_id, store)
) STRICT, WITHOUT ROWID;
INSERT INTO tenant_stores (api_key_id, store, bytes, events, counted_at, updated_at)
  SELECT api_key_id, api_key_id, bytes, events, counted_at, updated_at FROM tenant_sizes;
