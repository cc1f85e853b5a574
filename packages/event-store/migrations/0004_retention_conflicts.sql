-- Retention (issue 14): the scheduled purge walks the store oldest first, across tenants, by time
-- received. Without this index each round would scan the whole table.
CREATE INDEX events_by_received ON events (received_at);
