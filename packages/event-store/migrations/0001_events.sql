-- The event store: one row per accepted event, keyed by the event_id the ingest Worker assigned.
-- Written by the consumer Worker (apps/consumer), read by the ingest Worker's inbox API.
-- Timestamps are ISO-8601 UTC strings of fixed width ("2026-11-29T16:24:59.123Z"), so that
-- text order is time order and ranges and cursors compare them as text.
-- See packages/event-store/README.md for the status state machine.
CREATE TABLE events (
  event_id       TEXT PRIMARY KEY NOT NULL,
  -- The tenant: id of the API key that sent the event.
  api_key_id     TEXT NOT NULL,
  -- The client's payload and metadata as JSON text; metadata is NULL when none was sent.
  payload        TEXT NOT NULL CHECK (json_valid(payload)),
  metadata       TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  status         TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  -- Highest delivery attempt seen on the queue (1 = first delivery).
  attempts       INTEGER NOT NULL CHECK (attempts >= 0),
  -- Most recent failure, kept after a later success so the history stays visible.
  last_error     TEXT,
  -- When the ingest Worker accepted the event (QueuedEvent.timestamp).
  received_at    TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  -- The failure rehearsal a test key asked for (`processing_error`, `dlq_routing`,
  -- `queue_delay`), NULL on ordinary events: explains a `failed` row at a glance.
  debug          TEXT
) STRICT;

-- The inbox: a key's events newest first, with (received_at, event_id) as a stable cursor.
CREATE INDEX events_by_key_received ON events (api_key_id, received_at, event_id);
-- The inbox filtered by status (`?status=failed`), and replays of a key's failed events.
CREATE INDEX events_by_key_status_received ON events (api_key_id, status, received_at, event_id);

-- Dead-lettered messages whose body is not a valid QueuedEvent: never dropped, kept here for
-- inspection. Keyed by queue message id, so a redelivered message is recorded once.
CREATE TABLE dead_letters (
  message_id    TEXT PRIMARY KEY NOT NULL,
  -- The queue the message failed on (`event-queue`, or `event-dlq` for a body that arrived
  -- there without our envelope).
  queue         TEXT NOT NULL,
  reason        TEXT NOT NULL,
  attempts      INTEGER NOT NULL CHECK (attempts >= 0),
  -- The body as it arrived: JSON text, or base64 for binary bodies (see body_encoding).
  body          TEXT NOT NULL,
  body_encoding TEXT NOT NULL CHECK (body_encoding IN ('json', 'base64')),
  -- When the message was first enqueued, as the queue reported it.
  enqueued_at   TEXT NOT NULL,
  created_at    TEXT NOT NULL
) STRICT;

CREATE INDEX dead_letters_by_created ON dead_letters (created_at);
