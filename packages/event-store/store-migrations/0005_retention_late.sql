-- Late writes to a day the archive is reading (src/retention.ts, "Late writes"): a row written to
-- the day's table after the read passed its key is recorded here by the day's triggers, made when
-- its archive starts, and handed to the archive before the day is dropped.
--
-- How far the read got (`read_*`), ahead of the mark (`received_at`, `event_id`, how far the
-- archive took care of): the triggers record a write at or behind it. Past the day's last read it
-- is the next day's first instant, behind which every row of the day is.
ALTER TABLE retention_progress ADD COLUMN read_received_at TEXT NOT NULL DEFAULT '';
ALTER TABLE retention_progress ADD COLUMN read_event_id TEXT NOT NULL DEFAULT '';
-- One row per event written late, its `seq` new with each write (AUTOINCREMENT: never reused), so
-- that a round deletes only the records it read, not one a write made again meanwhile. A day's
-- rows go with its table.
CREATE TABLE retention_late (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  day TEXT NOT NULL,
  event_id TEXT NOT NULL,
  UNIQUE (day, event_id)
) STRICT;
-- A day whose archive began before this migration has no triggers, and writes behind its mark
-- were not recorded: its archive starts again from the day's first event (those archived already
-- are archived twice; none is lost).
DELETE FROM retention_progress;
