/*
 * dashpol.c - the dashboard's "Policies senders saw" tables (dashpol.h).
 *
 * The same rows, grouping and order as listing.c's rpt_q_policy_strings
 * (policy domain, type and policy strings as lines; distinct reports,
 * distinct organizations in byte order, first and last start), but
 * cheaper: that query turns every policy row's JSON array into lines
 * (json_each) and groups in SQL with DISTINCT aggregates, which cost more
 * than the rest of the page's queries together.  Here the window's policy
 * rows are read once, plainly, and only those of the domains the page
 * shows (RPT_DASH_MAX_DOMAINS) are kept; each distinct policy_strings
 * value goes through the same json_each expression once (a domain's
 * senders repeat its few policies); the grouping is two sorts in C.
 * Values are compared as SQLite's BINARY collation does (bytes, then
 * length; NULL first).  The rows kept are as many as the window holds for
 * those domains, as the tables of the other queries are.
 *
 * The same plain read (rpt_pol_rows_read) gives findings_rules.c the
 * policy rows of every domain, which it groups itself.
 */
#include "dashpol.h"
#include "dashboard.h"
#include "output.h"
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdlib.h>
#include <string.h>

/* One distinct (domain, type, lines): a row of a domain's table. */
struct polgroup {
    const char *dom, *type;                 /* borrowed from rows */
    const struct rpt_bytes *lines;
    char *orgs;                             /* owned: distinct organizations, comma-separated */
    int64_t reports, first, last;
    size_t seq;                             /* position in (domain, type, lines) order */
};

struct rpt_dash_pols {
    struct rpt_polrow *rows;
    size_t nrows;
    struct rpt_bytes *lines;                    /* one per distinct policy_strings value */
    size_t nlines;
    struct polgroup *g;                     /* by domain, then first start */
    size_t ng;
};

/* The expression rpt_q_policy_strings applies to p.policy_strings. */
static const char lines_sql[] =
    "SELECT (SELECT group_concat(value, char(10)) FROM json_each(CASE WHEN json_valid(?1)"
    " THEN ?1 ELSE '[]' END))";

static void take(struct rpt_bytes *b, sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    b->n = (size_t)sqlite3_column_bytes(st, col);
    b->s = NULL;
    if (s != NULL) {
        b->s = xmalloc(b->n + 1);
        memcpy(b->s, s, b->n);
        b->s[b->n] = '\0';
    }
}

int rpt_bytes_cmp(const struct rpt_bytes *a, const struct rpt_bytes *b)
{
    int c;
    if (a->s == NULL || b->s == NULL)
        return (a->s != NULL) - (b->s != NULL);
    c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

/* By policy_strings value (its storage class apart). */
static int cmp_strings(const void *a, const void *b)
{
    const struct rpt_polrow *x = *(const struct rpt_polrow *const *)a, *y = *(const struct rpt_polrow *const *)b;
    if (x->strings_blob != y->strings_blob)
        return x->strings_blob - y->strings_blob;
    return rpt_bytes_cmp(&x->strings, &y->strings);
}

/* The group key, then organization and report. */
static int cmp_row(const void *a, const void *b)
{
    const struct rpt_polrow *x = a, *y = b;
    int c = rpt_bytes_cmp(&x->dom, &y->dom);
    if (c == 0)
        c = rpt_bytes_cmp(&x->type, &y->type);
    if (c == 0)
        c = rpt_bytes_cmp(x->lines, y->lines);
    if (c == 0)
        c = rpt_bytes_cmp(&x->org, &y->org);
    if (c == 0)
        c = (x->report > y->report) - (x->report < y->report);
    return c;
}

/* The dashboard's order: domain (as shown), first start, then as listed. */
static int cmp_group(const void *a, const void *b)
{
    const struct polgroup *x = a, *y = b;
    int c = strcmp(x->dom, y->dom);
    if (c == 0)
        c = (x->first > y->first) - (x->first < y->first);
    if (c == 0)
        c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int rpt_pol_rows_read(sqlite3 *db, const struct rpt_scope *s, const char *const *names, size_t n,
                      struct rpt_polrow **rows, size_t *nrows, struct tr_err *err)
{
    struct rpt_sql q;
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc;

    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT coalesce(p.policy_domain, '(none)'), p.policy_type, p.policy_strings, r.org_name,"
                    " r.id, r.start_time, p.successful_sessions + p.failed_sessions"
                    " FROM report r JOIN policy p ON p.report = r.id");
    rpt_q_report_where(&q, s, s->since, s->until);
    rc = rpt_sql_prepare(db, &q, &st, err);
    rpt_sql_free(&q);
    if (rc < 0)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *dom = (const char *)sqlite3_column_text(st, 0);
        struct rpt_polrow *r;
        if (names != NULL && (dom == NULL || bsearch(&dom, names, n, sizeof *names, cmp_name) == NULL))
            continue;
        if (*nrows == cap) {
            cap = cap ? 2 * cap : 1024;
            *rows = xrealloc(*rows, cap * sizeof **rows);
        }
        r = &(*rows)[(*nrows)++];
        memset(r, 0, sizeof *r);
        take(&r->dom, st, 0);
        take(&r->type, st, 1);
        r->strings_blob = sqlite3_column_type(st, 2) == SQLITE_BLOB;
        take(&r->strings, st, 2);
        take(&r->org, st, 3);
        r->report = sqlite3_column_int64(st, 4);
        r->start = sqlite3_column_int64(st, 5);
        r->sessions_null = sqlite3_column_type(st, 6) == SQLITE_NULL;
        r->sessions = sqlite3_column_int64(st, 6);
    }
    if (rc != SQLITE_DONE)
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (*rows == NULL)                  /* never NULL for qsort, even with no rows */
        *rows = xcalloc(1, sizeof **rows);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Each distinct policy_strings value into lines, once. */
static int convert_strings(sqlite3 *db, struct rpt_dash_pols *pl, struct tr_err *err)
{
    struct rpt_polrow **by = xcalloc(pl->nrows + 1, sizeof *by);
    sqlite3_stmt *st = NULL;
    int rc = 0;

    for (size_t i = 0; i < pl->nrows; i++)
        by[i] = &pl->rows[i];
    qsort(by, pl->nrows, sizeof *by, cmp_strings);
    pl->lines = xcalloc(pl->nrows + 1, sizeof *pl->lines);
    if (sqlite3_prepare_v2(db, lines_sql, -1, &st, NULL) != SQLITE_OK)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < pl->nrows; i++) {
        const struct rpt_polrow *r = by[i];
        if (i > 0 && cmp_strings(&by[i - 1], &by[i]) == 0) {
            by[i]->lines = by[i - 1]->lines;
            continue;
        }
        sqlite3_reset(st);
        if (r->strings.s == NULL)
            sqlite3_bind_null(st, 1);
        else if (r->strings_blob)
            sqlite3_bind_blob(st, 1, r->strings.s, (int)r->strings.n, SQLITE_STATIC);
        else
            sqlite3_bind_text(st, 1, r->strings.s, (int)r->strings.n, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = -1;
            break;
        }
        take(&pl->lines[pl->nlines], st, 0);
        by[i]->lines = &pl->lines[pl->nlines++];
    }
    if (rc < 0)
        tr_err_set(err, TR_E_DB, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    free(by);
    return rc;
}

/* The organizations of rows [lo, hi) (sorted by organization), distinct,
 * comma-separated, bytes kept as group_concat keeps them. */
static char *org_list(const struct rpt_polrow *rows, size_t lo, size_t hi)
{
    size_t len = 0, at = 0;
    char *out;

    for (size_t i = lo; i < hi; i++)
        if (i == lo || rpt_bytes_cmp(&rows[i - 1].org, &rows[i].org) != 0)
            len += rows[i].org.n + 1;
    out = xmalloc(len + 1);
    for (size_t i = lo; i < hi; i++)
        if (i == lo || rpt_bytes_cmp(&rows[i - 1].org, &rows[i].org) != 0) {
            if (at > 0)
                out[at++] = ',';
            memcpy(out + at, rows[i].org.s, rows[i].org.n);
            at += rows[i].org.n;
        }
    out[at] = '\0';
    return out;
}

static void group_rows(struct rpt_dash_pols *pl)
{
    const struct rpt_polrow *rows = pl->rows;

    qsort(pl->rows, pl->nrows, sizeof *pl->rows, cmp_row);
    pl->g = xcalloc(pl->nrows + 1, sizeof *pl->g);
    for (size_t lo = 0, hi; lo < pl->nrows; lo = hi) {
        struct polgroup *g = &pl->g[pl->ng];
        g->dom = rows[lo].dom.s;
        g->type = rows[lo].type.s ? rows[lo].type.s : "(none)";
        g->lines = rows[lo].lines;
        g->first = g->last = rows[lo].start;
        g->seq = pl->ng++;
        for (hi = lo; hi < pl->nrows && rpt_bytes_cmp(&rows[hi].dom, &rows[lo].dom) == 0 &&
                      rpt_bytes_cmp(&rows[hi].type, &rows[lo].type) == 0 &&
                      rpt_bytes_cmp(rows[hi].lines, rows[lo].lines) == 0; hi++) {
            if (hi == lo || rows[hi].report != rows[hi - 1].report)
                g->reports++;
            if (rows[hi].start < g->first)
                g->first = rows[hi].start;
            if (rows[hi].start > g->last)
                g->last = rows[hi].start;
        }
        g->orgs = org_list(rows, lo, hi);
    }
    qsort(pl->g, pl->ng, sizeof *pl->g, cmp_group);
}

int rpt_dash_pols_load(sqlite3 *db, const struct rpt_scope *s, const char *const *domains, size_t n,
                       struct rpt_dash_pols **out, struct tr_err *err)
{
    struct rpt_dash_pols *pl = xcalloc(1, sizeof *pl);
    const char **names = xcalloc(n + 1, sizeof *names);
    int rc = -1;

    *out = pl;
    memcpy(names, domains, n * sizeof *names);
    qsort(names, n, sizeof *names, cmp_name);
    if (rpt_pol_rows_read(db, s, names, n, &pl->rows, &pl->nrows, err) == 0 && convert_strings(db, pl, err) == 0) {
        group_rows(pl);
        rc = 0;
    }
    free(names);
    return rc;
}

void rpt_dash_pols_table(struct rpt_html *h, const struct rpt_dash_pols *pl, const char *domain)
{
    size_t lo = 0, hi = pl->ng;
    char n1[RPT_NUM_MAX];

    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (strcmp(pl->g[m].dom, domain) < 0)
            lo = m + 1;
        else
            hi = m;
    }
    for (hi = lo; hi < pl->ng && strcmp(pl->g[hi].dom, domain) == 0; hi++)
        ;
    rpt_page_put(h, "<h3>Policies senders saw</h3>\n");
    if (lo == hi) {
        rpt_page_put(h, "<p class=\"muted\">None in the window.</p>\n");
        return;
    }
    rpt_page_put(h, "<div class=\"tw\"><table class=\"pol\"><thead><tr><th>type</th><th>policy</th>"
                    "<th class=\"n\">reports</th><th>from</th><th class=\"n\">first day</th>"
                    "<th class=\"n\">last day</th></tr></thead><tbody>\n");
    for (size_t k = lo; k < hi && k - lo < RPT_DASH_MAX_ROWS; k++) {
        const struct polgroup *g = &pl->g[k];
        rpt_page_put(h, "<tr><td>");
        rpt_page_esc(h, g->type, 0);
        rpt_page_put(h, "</td><td><pre>");
        if (g->lines->s != NULL)
            rpt_page_esc(h, g->lines->s, 1);
        else
            rpt_page_put(h, "(no policy string)");
        rpt_page_put(h, "</pre></td><td class=\"n\">%s</td><td>", rpt_fmt_count(g->reports, n1));
        rpt_page_esc(h, g->orgs, 0);
        rpt_page_put(h, "</td>");
        rpt_page_day(h, g->first);
        rpt_page_day(h, g->last);
        rpt_page_put(h, "</tr>\n");
    }
    rpt_page_put(h, "</tbody></table></div>\n");
    rpt_page_more(h, hi - lo > RPT_DASH_MAX_ROWS ? hi - lo - RPT_DASH_MAX_ROWS : 0, "policies");
}

void rpt_dash_pols_free(struct rpt_dash_pols *pl)
{
    if (pl == NULL)
        return;
    rpt_pol_rows_free(pl->rows, pl->nrows);
    for (size_t i = 0; i < pl->nlines; i++)
        free(pl->lines[i].s);
    for (size_t i = 0; i < pl->ng; i++)
        free(pl->g[i].orgs);
    free(pl->lines);
    free(pl->g);
    free(pl);
}

void rpt_pol_rows_free(struct rpt_polrow *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].dom.s);
        free(rows[i].type.s);
        free(rows[i].org.s);
        free(rows[i].strings.s);
    }
    free(rows);
}
