-- Subscriptions and webhook deliveries (issue 11). See docs/webhooks.md and
-- packages/event-store/src/subscriptions.ts, deliveries.ts. Every table is keyed by api_key_id
-- first: a tenant's rows are found, and only found, through its key.

-- A tenant's webhook endpoint. `secret` signs (Standard Webhooks, whsec_…); after a rotation the
-- previous secret keeps signing until previous_secret_expires_at. event_types is a JSON array of
-- exact types and `prefix.*` patterns, or NULL for every event.
CREATE TABLE subscriptions (
  api_key_id TEXT NOT NULL,
  id TEXT NOT NULL,
  url TEXT NOT NULL,
  event_types TEXT CHECK (event_types IS NULL OR json_type(event_types) = 'array'),
  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  disabled_reason TEXT CHECK (disabled_reason IS NULL OR enabled = 0),
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_expires_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (api_key_id, id)
);

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
