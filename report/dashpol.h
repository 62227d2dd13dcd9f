/*
 * dashpol.h - the dashboard's "Policies senders saw" tables (dashpol.c):
 * the distinct policies (type and policy strings) of each policy domain in
 * the window, with their reports, organizations, first and last day.
 */
#ifndef RPT_DASHPOL_H
#define RPT_DASHPOL_H

#include <sqlite3.h>

#include "dashchart.h"
#include "query.h"

/* A value as SQLite gave it: s NUL-terminated (shown up to its first NUL,
 * as a table cell would be), n its length in bytes; s NULL for SQL NULL. */
struct rpt_bytes {
    char *s;
    size_t n;
};

/* One policy row of the window (a policy of a report). */
struct rpt_polrow {
    struct rpt_bytes dom, type, org, strings; /* owned; dom "(none)" when NULL */
    int strings_blob;                       /* policy_strings stored as a BLOB */
    const struct rpt_bytes *lines;          /* dashpol.c's: its strings as lines */
    int64_t report, start;                  /* report ID, its start_time */
    int64_t sessions;                       /* successful + failed sessions */
    int sessions_null;                      /* that sum was SQL NULL */
};

/* Compares as SQLite's BINARY collation (bytes, then length; NULL first). */
int rpt_bytes_cmp(const struct rpt_bytes *a, const struct rpt_bytes *b);

/* Reads the policy rows of the window and filters of s in one plain pass
 * (no grouping), those of the policy domains names (n of them, sorted
 * by strcmp, borrowed) or of every domain when names is NULL, appended to
 * *rows (*nrows of them; the array, not NULL when 0 is returned, and
 * its values owned by the caller, rpt_pol_rows_free, also after an
 * error).  Returns 0, or -1 with err (TR_E_DB). */
int rpt_pol_rows_read(sqlite3 *db, const struct rpt_scope *s, const char *const *names, size_t n,
                      struct rpt_polrow **rows, size_t *nrows, struct tr_err *err);

void rpt_pol_rows_free(struct rpt_polrow *rows, size_t n);

/* The window's policies, read once for every domain's table. */
struct rpt_dash_pols;

/* Reads the policies of the window and filters (--domain, --org,
 * --received-since) of s, grouped and counted as rpt_q_policy_strings()
 * (listing.c) does, for the policy domains given (n names, borrowed; the
 * rest are skipped).  *out owned by the caller (rpt_dash_pols_free), also
 * after an error.  Returns 0, or -1 with err (TR_E_DB). */
int rpt_dash_pols_load(sqlite3 *db, const struct rpt_scope *s, const char *const *domains, size_t n,
                       struct rpt_dash_pols **out, struct tr_err *err);

/* Writes domain's table (heading included; one of the domains loaded),
 * first seen first, at most RPT_DASH_MAX_ROWS rows then "... and N more". */
void rpt_dash_pols_table(struct rpt_html *h, const struct rpt_dash_pols *pl, const char *domain);

void rpt_dash_pols_free(struct rpt_dash_pols *pl);

#endif
