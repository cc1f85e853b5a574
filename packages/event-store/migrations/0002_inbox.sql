-- The inbox API (issue 4): acknowledging events, and the default inbox view of what is not yet
-- acknowledged. See packages/event-store/README.md.

-- When the key's consumer acknowledged the event (POST /inbox/{event_id}/ack), NULL until then.
-- An ack marks, it never deletes: the row stays for GET /events/{id}, for replays and for audit,
-- and a second ack finds the first one's time. Only a final event can be acked, and a replay
-- (failed -> pending) clears the mark, so no pending row is ever acked.
ALTER TABLE events ADD COLUMN acked_at TEXT CHECK (acked_at IS NULL OR status <> 'pending');

-- The default inbox view: a key's unacknowledged events newest first, with the
-- (received_at, event_id) cursor, without walking past the acknowledged ones.
CREATE INDEX events_unacked_by_key_received ON events (api_key_id, received_at, event_id)
  WHERE acked_at IS NULL;
