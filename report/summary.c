/*
 * summary.c - shaping summary's tables after the queries (summary.h):
 * the sessions of report-level groups joined onto the failure rows, the
 * top N rows by failed sessions, the domain totals worst first.
 *
 * Rows are reordered by sorting row indices and moving whole rows; text
 * cells keep their owned strings, dropped rows free theirs.
 */
#include "summary.h"
#include "digest.h"

#include <stdio.h>
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

/* ------------------------------------------------------------ the command */

/* "2026-11-01 to 2026-11-22" for whole days, else both datetimes. */
void rpt_window_text(int64_t since, int64_t until, char *buf, size_t cap)
{
    char a[RPT_LABEL_MAX], b[RPT_LABEL_MAX];
    if (since % 86400 == 0 && until % 86400 == 0) {
        char p[RPT_PERIOD_MAX];
        rpt_digest_period(since, until, p);
        snprintf(buf, cap, "%s", p);
        return;
    }
    rpt_fmt_datetime(since, a);
    rpt_fmt_datetime(until, b);
    snprintf(buf, cap, "%s to %s", a, b);
}

void rpt_window_json(json_t *doc, int64_t since, int64_t until)
{
    char buf[RPT_LABEL_MAX];
    rpt_fmt_datetime(since, buf);
    json_object_set_new(doc, "since", json_string(buf));
    rpt_fmt_datetime(until, buf);
    json_object_set_new(doc, "until", json_string(buf));
}

/* Adds a success_rate column computed from successful/failed columns. */
static void add_rate_col(struct rpt_table *t, int ok_col, int bad_col)
{
    rpt_table_add_col(t, "success_rate", RPT_S_RATE);
    for (size_t r = 0; r < t->nrows; r++) {
        double rate = rpt_success_rate(rpt_table_cell(t, r, (size_t)ok_col)->i,
                                       rpt_table_cell(t, r, (size_t)bad_col)->i);
        if (rate >= 0)
            rpt_table_set_real(t, r, t->ncols - 1, rate);
    }
}

/* The terminal's "Totals" line: on one line unless the terminal is
 * narrower. */
static int totals_line(struct rpt_out *o, const struct rpt_scope *s, const struct rpt_table *tot)
{
    char win[RPT_PERIOD_MAX + RPT_LABEL_MAX], head[RPT_PERIOD_MAX + RPT_LABEL_MAX + 32];
    char n1[RPT_NUM_MAX], n2[RPT_NUM_MAX], n3[RPT_NUM_MAX];
    int64_t ok = rpt_table_cell(tot, 0, 1)->i, bad = rpt_table_cell(tot, 0, 2)->i;
    double rate = rpt_success_rate(ok, bad);
    char *body;
    int w;

    rpt_window_text(s->since, s->until, win, sizeof win);
    snprintf(head, sizeof head, "Totals %s (UTC):", win);
    body = xasprintf("%s reports, %s sessions, %s failed", rpt_fmt_count(rpt_table_cell(tot, 0, 0)->i, n1),
                     rpt_fmt_count(ok + bad, n2), rpt_fmt_count(bad, n3));
    if (rate >= 0) {
        char *b2 = xasprintf("%s, %.2f%% TLS", body, rate);
        free(body);
        body = b2;
    }
    if (o->width > 0 && strlen(head) + 1 + strlen(body) >= (size_t)o->width)
        w = rpt_out_printf(o, "\n%s\n  %s\n\n", head, body);
    else
        w = rpt_out_printf(o, "\n%s %s\n\n", head, body);
    free(body);
    return w;
}

static int write_json(struct rpt_out *o, const struct rpt_scope *s, const struct rpt_summary_req *req,
                      const struct rpt_table *rows, const struct rpt_table *tot, const struct rpt_table *dom,
                      const struct rpt_summary_cut *cut)
{
    json_t *doc = json_object(), *keys = json_array(), *totals, *t0, *rate;
    int w;

    rpt_window_json(doc, s->since, s->until);
    for (size_t i = 0; i < req->n_by; i++)
        json_array_append_new(keys, json_string(rpt_key_names[req->by[i]]));
    json_object_set_new(doc, "group_by", keys);
    json_object_set_new(doc, "rows", rpt_table_to_json(rows));
    if (cut->dropped > 0) {
        json_object_set_new(doc, "more", json_true());
        json_object_set_new(doc, "left_out", json_integer((json_int_t)cut->dropped));
        json_object_set_new(doc, "left_out_failed_sessions", json_integer(cut->dropped_failed));
    }
    totals = rpt_table_to_json(tot);
    t0 = json_incref(json_array_get(totals, 0));
    json_decref(totals);
    rate = json_incref(json_object_get(t0, "success_rate"));
    json_object_del(t0, "success_rate");
    json_object_set_new(t0, "success_rate", rate);
    json_object_set_new(t0, "domains", rpt_table_to_json(dom));
    json_object_set_new(doc, "totals", t0);
    w = rpt_out_json(o, doc);
    json_decref(doc);
    return w;
}

int rpt_summary_write(sqlite3 *db, const struct rpt_scope *s, const struct rpt_summary_req *req,
                      struct rpt_out *o, struct rpt_summary_cut *cut, struct tr_err *err)
{
    static const enum rpt_key k_domain[] = {RPT_K_DOMAIN};
    struct rpt_table *rows = rpt_table_new(), *tot = rpt_table_new(), *dom = rpt_table_new();
    int rc = 0, w = 0;

    cut->dropped = 0;
    cut->dropped_failed = 0;
    if (rpt_q_failed(db, s, req->by, req->n_by, rows, err) < 0 || rpt_q_sessions(db, s, NULL, 0, tot, err) < 0 ||
        rpt_q_sessions(db, s, k_domain, 1, dom, err) < 0) {
        rc = RPT_SUMMARY_QUERY_FAILED;
        goto done;
    }
    if (req->with_sessions) {
        struct rpt_table *sess = rpt_table_new();
        if (rpt_q_sessions(db, s, req->by, req->n_by, sess, err) < 0) {
            rpt_table_free(sess);
            rc = RPT_SUMMARY_QUERY_FAILED;
            goto done;
        }
        rpt_summary_add_sessions(rows, req->by, req->n_by, sess);
        rpt_table_free(sess);
    }
    cut->dropped = rpt_table_keep_top(rows, req->n_by, req->limit, &cut->dropped_failed);
    rpt_table_set_cut_last(rows, "type");
    add_rate_col(tot, 1, 2);
    add_rate_col(dom, 2, 3);
    rpt_domains_worst_first(dom);
    if (o->fmt == RPT_FMT_JSON) {
        w = write_json(o, s, req, rows, tot, dom, cut);
    } else if (o->fmt == RPT_FMT_CSV) {
        w = rpt_out_table(o, rows);
    } else {
        char n1[RPT_NUM_MAX], n2[RPT_NUM_MAX];
        size_t n_dom;
        w |= rpt_out_table(o, rows);
        if (cut->dropped > 0)
            w |= rpt_out_printf(o, "... and %s more %s (%s failed sessions); --limit N shows N, --limit 0 all\n",
                                rpt_fmt_count((int64_t)cut->dropped, n1), cut->dropped == 1 ? "row" : "rows",
                                rpt_fmt_count(cut->dropped_failed, n2));
        w |= totals_line(o, s, tot);
        /* The worst domains first; the same limit as the rows. */
        n_dom = dom->nrows;
        if (req->limit > 0 && dom->nrows > req->limit) {
            for (size_t r = req->limit; r < dom->nrows; r++)
                for (size_t c = 0; c < dom->ncols; c++)
                    rpt_table_set_text(dom, r, c, NULL);
            dom->nrows = req->limit;
        }
        w |= rpt_out_table(o, dom);
        if (n_dom > dom->nrows)
            w |= rpt_out_printf(o, "... and %s more %s; --limit 0 shows all\n",
                                rpt_fmt_count((int64_t)(n_dom - dom->nrows), n1),
                                n_dom - dom->nrows == 1 ? "domain" : "domains");
    }
    if (w != 0)
        rc = RPT_SUMMARY_WRITE_FAILED;
done:
    rpt_table_free(rows);
    rpt_table_free(tot);
    rpt_table_free(dom);
    return rc;
}
