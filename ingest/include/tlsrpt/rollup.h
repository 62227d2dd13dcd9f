/*
 * rollup.h - the writer's side of the rollups (schema/002-rollups.sql,
 * schema/003-rollup-fold.sql), computed in C while reports are stored.
 *
 * 003's roll_fold trigger folds queued reports with set-based SQL; it is
 * what any other writer runs.  tlsrpt's own writer does the same work
 * here, cheaper: a stored report's contributions are summed in memory per
 * rollup key (its report and policy are known, nothing is read back), and
 * the sums are written with one upsert per key when the transaction
 * commits.  The counting rules are 002's, which tests/unit/test_rollup.c
 * checks against roll_fold on the same rows.
 *
 * Used by db.c only, on the connection it belongs to, from one thread.
 */
#ifndef TLSRPT_ROLLUP_H
#define TLSRPT_ROLLUP_H

#include <sqlite3.h>
#include "tlsrpt/report.h"
#include "tlsrpt/util.h"

struct tr_rollup;

/* Prepares the statements on h (borrowed; must outlive the result).
 * Returns NULL with err set when the schema has no rollups. */
struct tr_rollup *tr_rollup_new(sqlite3 *h, struct tr_err *err);
void tr_rollup_free(struct tr_rollup *ru);     /* NULL is a no-op */

/* For report row rid of r, just inserted with its policies (policy row i
 * is pids[i]), inside the transaction: writes the roll_policy and
 * roll_multidom rows, takes the report off roll_pending and adds its
 * contributions to the sums.  Returns 0, or -1 with err classified by
 * tr_db_fail (TR_E_DB_REFUSED for a constraint or trigger, else TR_E_DB). */
int tr_rollup_add(struct tr_rollup *ru, sqlite3_int64 rid, const sqlite3_int64 *pids,
                  const struct tr_report *r, struct tr_err *err);

/* Writes the sums (one upsert per key) and empties them; call before the
 * transaction commits.  Returns 0, or -1 with err. */
int tr_rollup_flush(struct tr_rollup *ru, struct tr_err *err);

/* After a rollback: forgets the sums and the interned ids, which may name
 * rows that no longer exist.  to_savepoint: only one report's savepoint
 * was rolled back (its sums were never added; the ids may be gone). */
void tr_rollup_discard(struct tr_rollup *ru, int to_savepoint);

#endif
