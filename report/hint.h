/*
 * hint.h - filters that match nothing: a --domain, --org, --mx or --type
 * value that names nothing stored in the whole database (not just the
 * window) is most likely a typo, so it is said, with the nearest stored
 * names by edit distance ("did you mean certificate-expired?").
 *
 * The names are the interned dimensions of the rollups (dim_domain,
 * dim_org, dim_mx, dim_type of schema/002-rollups.sql), which hold every
 * value ever stored.  Nothing is said while reports wait to be folded into
 * the rollups (schema/003-rollup-fold.sql): their names may be missing.
 */
#ifndef RPT_HINT_H
#define RPT_HINT_H

#include <stddef.h>
#include <sqlite3.h>

#include "args.h"

/* Names one hint offers at most. */
#define RPT_HINT_MAX 3
/* A dimension with at most this many names is listed whole when no name is
 * near (the failure types, a small site's domains). */
#define RPT_HINT_LIST_ALL 12
/* Names of one dimension compared at most (each costs one edit distance). */
#define RPT_HINT_MAX_NAMES 200000
/* Characters of a name or value compared (longer ones are cut). */
#define RPT_HINT_NAME_MAX 255
/* Cells of edit-distance tables one filter value may fill (about 0.2 s):
 * past it the names left are not compared, so stored names (senders
 * choose them) cannot make a typo cost seconds. */
#define RPT_HINT_WORK_MAX 100000000

/*
 * One line of text (no newline, escaped for the terminal) for each filter
 * value in f that matches no stored name: "--type 'certficate-expired'
 * matches nothing in the database; nearest: certificate-expired".  The
 * lines go to *lines (caller frees each and the array; NULL when none).
 * Returns their number.  Database errors make no lines (a hint is never
 * worth failing for).
 */
size_t rpt_filter_hints(sqlite3 *db, const struct rpt_filters *f, char ***lines);

#endif
