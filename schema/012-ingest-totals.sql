-- tlsrpt schema: running totals of what ingests saw that leaves no row.
--
-- A duplicate (a report already stored, same content) is counted by the
-- ingest that meets it and then forgotten: the database held no trace, so
-- `tlsrpt-report metrics` could not expose tlsrpt_duplicates_total.  One
-- row, added to by every writer of tlsrpt (ingest/db.c) once per commit,
-- in the transaction whose reports it counts: a batch rolled back counts
-- nothing.  A counter: never decreases (a prune leaves it).
CREATE TABLE ingest_total (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    duplicates INTEGER NOT NULL DEFAULT 0     -- reports met again with the same content
);
INSERT INTO ingest_total (id) VALUES (1);
