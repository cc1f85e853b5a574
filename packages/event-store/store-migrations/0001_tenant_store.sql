-- A tenant's store object (src/tenant-store.ts): its fixed tables. One object holds one tenant, so
-- api_key_id is the same on every row; the tables keep it (queries, the old store's rows as they
-- are imported) but nothing here depends on it. The events live in tables created by code, not by
-- a migration: one per day received, kept_events and the view over them (src/partitions.ts).
-- An object created before the day partitions (it applied the D1 migrations 0001..0007) holds
-- these same tables already: it records this migration as applied (src/tenant-store.ts).

-- A webhook endpoint. `secret` signs (Standard Webhooks, whsec_…); previous_secrets holds the
-- secrets replaced by rotations, each signing until its own expires_at (docs/webhooks.md).
-- event_types is a JSON array of exact types and `prefix.*` patterns, or NULL for every event.
CREATE TABLE subscriptions (
  api_key_id TEXT NOT NULL,
  id TEXT NOT NULL,
  url TEXT NOT NULL,
  event_types TEXT CHECK (event_types IS NULL OR json_type(event_types) = 'array'),
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  disabled_reason TEXT CHECK (disabled_reason IS NULL OR enabled = 0),
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  secret TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  previous_secrets TEXT CHECK (previous_secrets IS NULL OR json_type(previous_secrets) = 'array'),
  PRIMARY KEY (api_key_id, id)
);
-- Only the few subscriptions with replaced secrets are indexed: what the retention run walks.
CREATE INDEX subscriptions_with_previous_secrets ON subscriptions (api_key_id, id)
  WHERE previous_secrets IS NOT NULL;

-- One delivery per (event, subscription): the unique key is what keeps a replayed event from
-- being delivered twice. `round` counts manual retries (1 = the automatic attempts); `attempts`
-- is the attempts of the current round. Moves only pending -> succeeded | failed, and
-- failed -> pending (a manual retry, next round), each by a conditional UPDATE.
CREATE TABLE deliveries (
  api_key_id TEXT NOT NULL,
  id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  url TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  round INTEGER NOT NULL DEFAULT 1,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (api_key_id, id),
  UNIQUE (api_key_id, event_id, subscription_id)
);
-- Retention walks deliveries oldest first.
CREATE INDEX deliveries_by_created ON deliveries (created_at);

-- Every attempt of a delivery: time, HTTP status or error, latency, a capped excerpt of the body.
CREATE TABLE delivery_attempts (
  api_key_id TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  attempted_at TEXT NOT NULL,
  http_status INTEGER,
  error TEXT,
  latency_ms INTEGER NOT NULL,
  response_excerpt TEXT,
  PRIMARY KEY (api_key_id, delivery_id, round, attempt)
);
CREATE INDEX delivery_attempts_by_attempted ON delivery_attempts (attempted_at);
