-- The operator's register of tenants: one row per tenant, its store's size and event count as
-- the store last reported them (apps/consumer's size watch, at most once a minute after writes),
-- read by GET /operator/tenants (`pnpm tenants:list`), its row removed by `pnpm tenant:erase`.
-- Bounded by the number of tenants; docs/scaling.md#what-stays-global gives its size.
CREATE TABLE tenant_sizes (
  -- The tenant: its API key id, the name of its store object.
  api_key_id TEXT PRIMARY KEY NOT NULL,
  -- The store object's database size in bytes (its SQLite file, indexes included).
  bytes      INTEGER NOT NULL CHECK (bytes >= 0),
  -- The events it held when last counted (counted_at): counting reads every row, so it is done
  -- less often than the size is reported.
  events     INTEGER NOT NULL CHECK (events >= 0),
  counted_at TEXT NOT NULL,
  -- When the store last reported.
  updated_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
