/*
 * sql.c - statement builder and runner (see sql.h).
 */
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rpt_sql_init(struct rpt_sql *q)
{
    memset(q, 0, sizeof *q);
    tr_buf_init(&q->text, RPT_SQL_MAX);
}

void rpt_sql_free(struct rpt_sql *q)
{
    for (size_t i = 0; i < q->n_binds; i++)
        free(q->binds[i].s);
    q->n_binds = 0;
    tr_buf_free(&q->text);
}

void rpt_sql_add(struct rpt_sql *q, const char *fragment)
{
    if (tr_buf_append(&q->text, fragment, strlen(fragment)) < 0)
        q->overflow = 1;
}

void rpt_sql_bind_int(struct rpt_sql *q, int64_t v)
{
    if (q->n_binds == RPT_SQL_MAX_BINDS) {
        q->overflow = 1;
        return;
    }
    q->binds[q->n_binds].is_int = 1;
    q->binds[q->n_binds].i = v;
    q->binds[q->n_binds].s = NULL;
    q->n_binds++;
}

void rpt_sql_bind_text(struct rpt_sql *q, const char *s)
{
    if (q->n_binds == RPT_SQL_MAX_BINDS) {
        q->overflow = 1;
        return;
    }
    q->binds[q->n_binds].is_int = 0;
    q->binds[q->n_binds].s = xstrdup(s);
    q->n_binds++;
}

/* The LIKE pattern for a user value: '\' escapes '%', '_' and itself,
 * '*' becomes '%'.  Caller owns the result. */
static char *like_pattern(const char *v)
{
    char *p = xmalloc(2 * strlen(v) + 1), *o = p;
    for (; *v; v++) {
        if (*v == '*') {
            *o++ = '%';
            continue;
        }
        if (*v == '%' || *v == '_' || *v == '\\')
            *o++ = '\\';
        *o++ = *v;
    }
    *o = '\0';
    return p;
}

/* A value without '*' is compared with "COLLATE NOCASE = ?", the same
 * test as LIKE without wildcards (both fold ASCII letters only): SQLite
 * re-prepares a statement whose LIKE pattern is a parameter once it is
 * bound (its LIKE optimization reads the value), 3% of a trend's
 * instructions. */
void rpt_sql_filter(struct rpt_sql *q, const char *expr, const struct rpt_filter *f)
{
    if (f == NULL || f->n == 0)
        return;
    rpt_sql_add(q, " AND (");
    for (size_t i = 0; i < f->n; i++) {
        rpt_sql_add(q, i ? " OR (" : "(");
        rpt_sql_add(q, expr);
        rpt_sql_add(q, ")");
        if (strchr(f->v[i], '*') == NULL) {
            /* The collation on the left: SQLite 3.40 turns "c = ? COLLATE
             * NOCASE OR c = ? COLLATE NOCASE" into "c IN (?, ?)" with c's
             * own collation (report.golden summary-filter-domain2). */
            rpt_sql_add(q, " COLLATE NOCASE = ?");
            rpt_sql_bind_text(q, f->v[i]);
        } else {
            char *pat = like_pattern(f->v[i]);
            rpt_sql_add(q, " LIKE ? ESCAPE '\\'");
            rpt_sql_bind_text(q, pat);
            free(pat);
        }
    }
    rpt_sql_add(q, ")");
}

int rpt_sql_prepare(sqlite3 *db, struct rpt_sql *q, sqlite3_stmt **st, struct tr_err *err)
{
    *st = NULL;
    if (q->overflow) {
        tr_err_set(err, TR_E_DB, "query too large (too many filter values)");
        return -1;
    }
    /* $TLSRPT_SQL_DEBUG: each statement on stderr, for EXPLAIN QUERY PLAN
     * (the values are the ?s, in order; a debugging aid). */
    if (getenv("TLSRPT_SQL_DEBUG") != NULL && getenv("TLSRPT_SQL_DEBUG")[0] != '\0') {
        fprintf(stderr, "-- SQL:\n%s;\n-- values:", (const char *)q->text.data);
        for (size_t i = 0; i < q->n_binds; i++) {
            if (q->binds[i].is_int)
                fprintf(stderr, " %lld", (long long)q->binds[i].i);
            else
                fprintf(stderr, " '%s'", q->binds[i].s);
        }
        fputc('\n', stderr);
    }
    if (sqlite3_prepare_v2(db, (const char *)q->text.data, -1, st, NULL) != SQLITE_OK) {
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
        return -1;
    }
    for (size_t i = 0; i < q->n_binds; i++) {
        int rc = q->binds[i].is_int
                     ? sqlite3_bind_int64(*st, (int)i + 1, q->binds[i].i)
                     : sqlite3_bind_text(*st, (int)i + 1, q->binds[i].s, -1, SQLITE_TRANSIENT);
        if (rc != SQLITE_OK) {
            tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
            sqlite3_finalize(*st);
            *st = NULL;
            return -1;
        }
    }
    return 0;
}

int rpt_sql_run(sqlite3 *db, struct rpt_sql *q, struct rpt_table *out, struct tr_err *err)
{
    int64_t total;
    return rpt_sql_run_counted(db, q, out, 0, &total, err);
}

int rpt_sql_run_counted(sqlite3 *db, struct rpt_sql *q, struct rpt_table *out, size_t max_rows, int64_t *total,
                        struct tr_err *err)
{
    sqlite3_stmt *st;
    int rc;

    if (rpt_sql_prepare(db, q, &st, err) < 0)
        return -1;
    if ((size_t)sqlite3_column_count(st) != out->ncols) {
        tr_err_set(err, TR_E_DB, "internal: query returns %d columns, table has %zu",
                   sqlite3_column_count(st), out->ncols);
        sqlite3_finalize(st);
        return -1;
    }
    *total = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t row;
        if (max_rows > 0 && out->nrows == max_rows) {     /* past the cap: only counted */
            ++*total;
            continue;
        }
        ++*total;
        row = rpt_table_add_row(out);
        for (size_t c = 0; c < out->ncols; c++) {
            switch (sqlite3_column_type(st, (int)c)) {
            case SQLITE_INTEGER:
                rpt_table_set_int(out, row, c, sqlite3_column_int64(st, (int)c));
                break;
            case SQLITE_FLOAT:
                rpt_table_set_real(out, row, c, sqlite3_column_double(st, (int)c));
                break;
            case SQLITE_TEXT:
            case SQLITE_BLOB:
                rpt_table_set_text(out, row, c, (const char *)sqlite3_column_text(st, (int)c));
                break;
            default:
                break;
            }
        }
    }
    if (rc != SQLITE_DONE) {
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}
