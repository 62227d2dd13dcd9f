/*
 * prune.h - retention: delete the reports that ended before a time, with
 * their rows, and the quarantine entries last seen before it
 * (tlsrpt-ingest --prune-before, tlsrpt-ingest(1) RETENTION).
 *
 * A prune is one transaction: the rollups are kept equal to the raw rows
 * set-based (whole UTC days of rollup rows deleted, days that keep a
 * report refolded, the weeks and months touched summed again from their
 * days; schema/011-prune.sql) and the raw rows deleted with the per-row
 * triggers off.  Either all of it is committed or nothing changes.
 */
#ifndef TLSRPT_PRUNE_H
#define TLSRPT_PRUNE_H

#include <stdint.h>
#include "tlsrpt/db.h"
#include "tlsrpt/util.h"

/* What a prune removes (or would remove). */
struct tr_prune_counts {
    int64_t reports;        /* report rows whose end_time <= before */
    int64_t policies;       /* their policy rows */
    int64_t failures;       /* their failure-detail rows */
    int64_t quarantine;     /* quarantine rows with last_seen < before */
    int64_t first_start;    /* earliest start_time of those reports (0 when none) */
    int64_t last_end;       /* latest end_time of those reports (0 when none) */
};

/* Counts what tr_prune(db, before) would remove, changing nothing.
 * db must not be inside a batch.  Returns 0, or -1 with err (TR_E_DB). */
int tr_prune_count(struct tr_db *db, int64_t before, struct tr_prune_counts *out, struct tr_err *err);

/* Deletes the reports whose range ends at or before `before` (UTC
 * seconds; ranges are half-open, so such a report holds nothing from
 * `before` on) with their policy and failure rows and their rollup
 * contributions, and the quarantine entries last seen before `before`, in
 * one IMMEDIATE transaction; *out says what went (tr_prune_count's
 * numbers).  Reports that other writers left queued for the rollups are
 * folded first.  Nothing is changed when it fails: -1 with err (TR_E_DB,
 * or TR_E_DB_REFUSED when a trigger or constraint refused a row). */
int tr_prune(struct tr_db *db, int64_t before, struct tr_prune_counts *out, struct tr_err *err);

/* Returns the free pages to the file system: VACUUM (a copy of the
 * database built in a temporary file, then written back through the WAL,
 * which is truncated afterwards).  Needs free space of about twice the
 * database's size while it runs (the temporary copy in SQLite's temporary
 * directory, $SQLITE_TMPDIR or $TMPDIR or /var/tmp, and the WAL beside the
 * database).  *bytes_before and *bytes_after: the database file's size
 * with its WAL.  Returns 0, or -1 with err (TR_E_DB; the database is
 * unchanged then). */
int tr_db_vacuum(struct tr_db *db, int64_t *bytes_before, int64_t *bytes_after, struct tr_err *err);

#endif
