/*
 * summary.c - shaping summary's tables after the queries (summary.h):
 * the sessions of report-level groups joined onto the failure rows, the
 * top N rows by failed sessions, the domain totals worst first.
 *
 * Rows are reordered by sorting row indices and moving whole rows; text
 * cells keep their owned strings, dropped rows free theirs.
 */
#include "summary.h"

#include <stdlib.h>
#include <string.h>

/* Orders text-or-NULL cells as SQLite's BINARY collation does, NULL first. */
static int cmp_cell(const struct rpt_cell *a, const struct rpt_cell *b)
{
    if (a->kind != RPT_TEXT || b->kind != RPT_TEXT)
        return (a->kind == RPT_TEXT) - (b->kind == RPT_TEXT);
    return strcmp(a->s, b->s);
}

/* One row of a table, with what the comparators need. */
struct row_ref {
    const struct rpt_table *t;
    size_t row;
    const enum rpt_key *keys;
    size_t n_keys;
    size_t fail_col;
};

static int cmp_keys(const struct row_ref *x, const struct rpt_table *ty, size_t ry)
{
    for (size_t k = 0; k < x->n_keys; k++) {
        int c = cmp_cell(rpt_table_cell(x->t, x->row, k), rpt_table_cell(ty, ry, k));
        if (c != 0)
            return c;
    }
    return 0;
}

static int by_keys(const void *a, const void *b)
{
    const struct row_ref *x = a, *y = b;
    int c = cmp_keys(x, y->t, y->row);
    return c != 0 ? c : (x->row > y->row) - (x->row < y->row);
}

static int is_time_key(enum rpt_key k)
{
    return k == RPT_K_DAY || k == RPT_K_WEEK || k == RPT_K_MONTH;
}

static int64_t int_at(const struct rpt_table *t, size_t row, size_t col)
{
    const struct rpt_cell *c = rpt_table_cell(t, row, col);
    return c->kind == RPT_INT ? c->i : 0;
}

/* rpt_q_failed's order: time keys, failed sessions (most first), the
 * other keys. */
static int by_summary_order(const void *a, const void *b)
{
    const struct row_ref *x = a, *y = b;
    int64_t fx, fy;
    for (size_t k = 0; k < x->n_keys; k++)
        if (is_time_key(x->keys[k])) {
            int c = cmp_cell(rpt_table_cell(x->t, x->row, k), rpt_table_cell(y->t, y->row, k));
            if (c != 0)
                return c;
        }
    fx = int_at(x->t, x->row, x->fail_col);
    fy = int_at(y->t, y->row, y->fail_col);
    if (fx != fy)
        return fx > fy ? -1 : 1;
    for (size_t k = 0; k < x->n_keys; k++)
        if (!is_time_key(x->keys[k])) {
            int c = cmp_cell(rpt_table_cell(x->t, x->row, k), rpt_table_cell(y->t, y->row, k));
            if (c != 0)
                return c;
        }
    return (x->row > y->row) - (x->row < y->row);
}

/* Moves the rows to the order refs[0..n) gives (n == t->nrows). */
static void reorder(struct rpt_table *t, const struct row_ref *refs, size_t n)
{
    struct rpt_cell *cells = xcalloc(t->alloc_rows ? t->alloc_rows * t->ncols : 1, sizeof *cells);
    for (size_t i = 0; i < n; i++)
        memcpy(&cells[i * t->ncols], rpt_table_cell(t, refs[i].row, 0), t->ncols * sizeof *cells);
    free(t->cells);
    t->cells = cells;
}

static struct row_ref *refs_of(const struct rpt_table *t, const enum rpt_key *keys, size_t n_keys, size_t fail_col)
{
    struct row_ref *refs = xcalloc(t->nrows ? t->nrows : 1, sizeof *refs);
    for (size_t r = 0; r < t->nrows; r++) {
        refs[r].t = t;
        refs[r].row = r;
        refs[r].keys = keys;
        refs[r].n_keys = n_keys;
        refs[r].fail_col = fail_col;
    }
    return refs;
}

/* Index into the key-sorted refs of the row with row r's keys, or -1. */
static long find_keys(const struct row_ref *sorted, size_t n, const struct rpt_table *t, size_t r)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_keys(&sorted[mid], t, r);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Sets the sessions columns (first at col) of rows' row r from sess's row s. */
static void set_sessions(struct rpt_table *rows, size_t r, size_t col, const struct rpt_table *sess, size_t n_keys,
                         size_t s)
{
    int64_t ok = int_at(sess, s, n_keys + 1), bad = int_at(sess, s, n_keys + 2);
    double rate = rpt_success_rate(ok, bad);
    rpt_table_set_int(rows, r, col, int_at(sess, s, n_keys));
    rpt_table_set_int(rows, r, col + 1, ok + bad);
    if (rate >= 0)
        rpt_table_set_real(rows, r, col + 2, rate);
}

void rpt_summary_add_sessions(struct rpt_table *rows, const enum rpt_key *keys, size_t n_keys,
                              const struct rpt_table *sess)
{
    struct row_ref *sorted = refs_of(sess, keys, n_keys, 0), *refs;
    unsigned char *used = xcalloc(sess->nrows ? sess->nrows : 1, 1);
    size_t fail_col = n_keys, col = rows->ncols, n_failed = rows->nrows;

    qsort(sorted, sess->nrows, sizeof *sorted, by_keys);
    rpt_table_add_col(rows, "reports", RPT_S_COUNT);
    rpt_table_add_col(rows, "sessions", RPT_S_COUNT);
    rpt_table_add_col(rows, "success_rate", RPT_S_RATE);
    for (size_t r = 0; r < n_failed; r++) {
        long i = find_keys(sorted, sess->nrows, rows, r);
        if (i >= 0) {
            used[i] = 1;
            set_sessions(rows, r, col, sess, n_keys, sorted[i].row);
        }
    }
    for (size_t i = 0; i < sess->nrows; i++) {
        size_t r;
        if (used[i])
            continue;
        r = rpt_table_add_row(rows);
        for (size_t k = 0; k < n_keys; k++) {
            const struct rpt_cell *c = rpt_table_cell(sess, sorted[i].row, k);
            rpt_table_set_text(rows, r, k, c->kind == RPT_TEXT ? c->s : NULL);
        }
        rpt_table_set_int(rows, r, fail_col, 0);
        set_sessions(rows, r, col, sess, n_keys, sorted[i].row);
    }
    refs = refs_of(rows, keys, n_keys, fail_col);
    qsort(refs, rows->nrows, sizeof *refs, by_summary_order);
    reorder(rows, refs, rows->nrows);
    free(refs);
    free(used);
    free(sorted);
}

/* Most failed sessions first, then the earlier row. */
static int by_failed(const void *a, const void *b)
{
    const struct row_ref *x = a, *y = b;
    int64_t fx = int_at(x->t, x->row, x->fail_col), fy = int_at(y->t, y->row, y->fail_col);
    if (fx != fy)
        return fx > fy ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int by_row(const void *a, const void *b)
{
    const struct row_ref *x = a, *y = b;
    return (x->row > y->row) - (x->row < y->row);
}

size_t rpt_table_keep_top(struct rpt_table *t, size_t fail_col, size_t limit, int64_t *dropped_failed)
{
    struct row_ref *refs;
    size_t dropped;

    *dropped_failed = 0;
    if (limit == 0 || t->nrows <= limit)
        return 0;
    refs = refs_of(t, NULL, 0, fail_col);
    qsort(refs, t->nrows, sizeof *refs, by_failed);
    for (size_t i = limit; i < t->nrows; i++) {
        *dropped_failed += int_at(t, refs[i].row, fail_col);
        for (size_t c = 0; c < t->ncols; c++)
            rpt_table_set_text(t, refs[i].row, c, NULL);
    }
    qsort(refs, limit, sizeof *refs, by_row);
    reorder(t, refs, limit);
    dropped = t->nrows - limit;
    t->nrows = limit;
    free(refs);
    return dropped;
}

/* Worst first: lowest rate (none last), most failed, then the name. */
static int by_worst(const void *a, const void *b)
{
    const struct row_ref *x = a, *y = b;
    const struct rpt_cell *rx = rpt_table_cell(x->t, x->row, 4), *ry = rpt_table_cell(y->t, y->row, 4);
    int64_t fx = int_at(x->t, x->row, 3), fy = int_at(y->t, y->row, 3);
    int c;

    if ((rx->kind == RPT_REAL) != (ry->kind == RPT_REAL))
        return rx->kind == RPT_REAL ? -1 : 1;
    if (rx->kind == RPT_REAL && rx->d != ry->d)
        return rx->d < ry->d ? -1 : 1;
    if (fx != fy)
        return fx > fy ? -1 : 1;
    c = cmp_cell(rpt_table_cell(x->t, x->row, 0), rpt_table_cell(y->t, y->row, 0));
    return c != 0 ? c : by_row(a, b);
}

void rpt_domains_worst_first(struct rpt_table *dom)
{
    struct row_ref *refs;

    if (dom->ncols < 5)
        return;
    refs = refs_of(dom, NULL, 0, 3);
    qsort(refs, dom->nrows, sizeof *refs, by_worst);
    reorder(dom, refs, dom->nrows);
    free(refs);
}
