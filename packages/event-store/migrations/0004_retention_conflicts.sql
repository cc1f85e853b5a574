-- Retention (issue 14): the scheduled purge walks the store oldest first, across tenants, by time
-- received. Without this index each round would scan the whole table.
CREATE INDEX events_by_received ON events (received_at);

-- Idempotency conflicts (issue 14): how many times a message arrived under this event's id (the
-- same Idempotency-Key of the same API key) with another payload or metadata. The first event
-- stays as it was; this count, shown by GET /events/{event_id} and the inbox, makes the reuse
-- visible.
ALTER TABLE events ADD COLUMN idempotency_conflicts INTEGER NOT NULL DEFAULT 0 CHECK (idempotency_conflicts >= 0);
