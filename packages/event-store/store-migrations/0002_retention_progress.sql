-- Retention archives an expired day in rounds before it drops the day's table (src/retention.ts):
-- how far it got, per day, so that a run that stops part-way goes on where it stopped and no
-- event is archived twice. A day's row goes with its table.
CREATE TABLE retention_progress (
  day TEXT PRIMARY KEY NOT NULL,
  received_at TEXT NOT NULL,
  event_id TEXT NOT NULL
) STRICT;
