/*
 * rollsum.h - rollup rows summed per key in C, for the rollup planner
 * (rollplan.c).
 *
 * Grouping many rollup rows by a few of their key columns made SQLite sort
 * every row first (its GROUP BY has no hash aggregate): at 1,000,000
 * reports, `metrics`' failed sessions per domain and type over all time
 * sorted roll_fail_tot's 800,000 rows for 5,500 groups.  When the keys are
 * interned ids of a few small dim_* tables, a dense table indexed by them
 * sums the rows in one pass instead; rollplan.c hands the sums back to SQLite
 * as JSON (json_each), which then joins the names and orders the rows as
 * before, so the result is the same.
 */
#ifndef RPT_ROLLSUM_H
#define RPT_ROLLSUM_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "tlsrpt/util.h"

/* Cells of the dense table (two int64 sums each, 16 bytes: 4 MiB at most);
 * keys whose id ranges multiply to more are grouped by SQLite. */
#define RPT_ROLLSUM_CELLS_MAX ((int64_t)1 << 18)
/* Key columns summed over at once. */
#define RPT_ROLLSUM_KEYS_MAX 6

/* Steps st to its end: each row n_keys INTEGER key ids, key i in
 * [0, span[i]), then two INTEGER measures.  Sums the measures per key.
 * Returns 0 with *json a new (caller frees) JSON array of
 * [k0, ..., m0, m1] for every key whose sums are not both 0, keys
 * ascending; 1 when the sums cannot be made this way (the spans' product
 * above RPT_ROLLSUM_CELLS_MAX, an id outside its span or not an integer,
 * a sum past int64): then the caller groups in SQL; -1 with err on a
 * database error.  st is left for the caller to finalize. */
int rpt_rollsum_json(sqlite3_stmt *st, size_t n_keys, const int64_t *span, char **json, struct tr_err *err);

#endif
