-- Eras (src/eras.ts): the end of a delivery stored in an era is counted on its subscription here,
-- in the head, in a call of its own. Each count is recorded by its attempt, so that the call
-- made again (the dispatcher's message retried) counts nothing twice. Purged with the claims.
CREATE TABLE counted_outcomes (
  delivery_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  counted_at TEXT NOT NULL,
  PRIMARY KEY (delivery_id, round, attempt)
) STRICT, WITHOUT ROWID;
