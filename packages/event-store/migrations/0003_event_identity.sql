-- Event identity (issue 10): every event has a type and a source, an optional subject, and a
-- CloudEvent keeps its other context attributes. See packages/event-store/README.md.

-- What kind of event it is (`order.created`). Events stored before this migration, and JSON
-- API events sent without one, have `triggers.event` (event-schema's DEFAULT_EVENT_TYPE).
ALTER TABLE events ADD COLUMN type TEXT NOT NULL DEFAULT 'triggers.event';
-- Who produced it, a URI-reference. Without one: the API key that sent it (set just below for
-- the rows already stored; new rows always get it from the consumer, never this default).
ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT '';
UPDATE events SET source = '/api-keys/' || api_key_id;
-- What the event is about within its source; NULL when none was given.
ALTER TABLE events ADD COLUMN subject TEXT;
-- A CloudEvent's other context attributes (specversion, id, time, datacontenttype, dataschema,
-- extensions) and how `payload` holds its data, as a JSON object; NULL for JSON API events.
ALTER TABLE events ADD COLUMN cloudevent TEXT CHECK (cloudevent IS NULL OR json_valid(cloudevent));

-- GET /inbox?type=order.created (equality) and ?type=order.* (a range: type >= 'order.' AND
-- type < 'order/'), newest first with the (received_at, event_id) cursor, within one key.
CREATE INDEX events_by_key_type_received ON events (api_key_id, type, received_at, event_id);
-- GET /inbox?source=…
CREATE INDEX events_by_key_source_received ON events (api_key_id, source, received_at, event_id);
