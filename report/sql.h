/*
 * sql.h - building one SQL statement from fixed fragments and bound
 * values, and running it into a struct rpt_table.
 *
 * A struct rpt_sql holds the statement text (capped at RPT_SQL_MAX) and the
 * values for its '?' placeholders, in order.  Text only ever comes from
 * string literals in the sources (query.c, listing.c, show.c, ...); every
 * value from the user goes through rpt_sql_bind_*().
 */
#ifndef RPT_SQL_H
#define RPT_SQL_H

#include <stdint.h>
#include <sqlite3.h>

#include "args.h"
#include "output.h"
#include "query.h"

/* Placeholders in one statement: four filters, each RPT_MAX_FILTER values,
 * in each rollup segment and raw edge, plus the windows and a limit. */
#define RPT_SQL_MAX_BINDS (40 * RPT_MAX_FILTER + 64)

struct rpt_bind {
    int is_int;
    int64_t i;
    char *s;                      /* owned */
};

struct rpt_sql {
    struct tr_buf text;
    struct rpt_bind binds[RPT_SQL_MAX_BINDS];
    size_t n_binds;
    int overflow;                 /* a cap was hit: rpt_sql_run fails */
};

void rpt_sql_init(struct rpt_sql *q);
void rpt_sql_free(struct rpt_sql *q);
/* Appends a fixed SQL fragment (a literal from the source, never data). */
void rpt_sql_add(struct rpt_sql *q, const char *fragment);
void rpt_sql_bind_int(struct rpt_sql *q, int64_t v);
void rpt_sql_bind_text(struct rpt_sql *q, const char *s);   /* copied */

/* Appends " AND ((expr) COLLATE NOCASE = ? OR (expr) LIKE ? ESCAPE '\' OR
 * ...)" for the filter's values: a value with '*' becomes a LIKE pattern
 * ('*' wildcard, '%' and '_' literal), one without is compared equal but
 * for ASCII case (what LIKE would do).  Nothing when the filter is empty. */
void rpt_sql_filter(struct rpt_sql *q, const char *expr, const struct rpt_filter *f);

/* Prepares q, binds its values, steps every row into out, which must have
 * exactly as many columns as the statement returns.  NULL, INTEGER, REAL
 * and TEXT columns become the matching cells.  Returns 0 or -1 (TR_E_DB). */
int rpt_sql_run(sqlite3 *db, struct rpt_sql *q, struct rpt_table *out, struct tr_err *err);

/* rpt_sql_run() keeping only the first max_rows rows (0: all) and
 * counting every row the statement yields in *total. */
int rpt_sql_run_counted(sqlite3 *db, struct rpt_sql *q, struct rpt_table *out, size_t max_rows, int64_t *total,
                        struct tr_err *err);

/* Prepares and binds q into *st (caller finalizes).  0 or -1. */
int rpt_sql_prepare(sqlite3 *db, struct rpt_sql *q, sqlite3_stmt **st, struct tr_err *err);

#endif
