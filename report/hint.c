/*
 * hint.c - a filter value that matches nothing stored, and the nearest
 * stored names (hint.h).  The match test is the one the queries use
 * (rpt_sql_filter over the dim table's names); the distance is Levenshtein's
 * over code points, ASCII letters compared without case, as the filters
 * compare them.
 */
#include "hint.h"
#include "output.h"
#include "sql.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of one hint line (a longer one is cut). */
#define RPT_HINT_TEXT_MAX 4096

/* The filters and the dimension each one names. */
static const struct {
    const char *opt, *dim, *what;
    size_t off;                          /* offsetof the filter in struct rpt_filters */
} dims[] = {
    {"--domain", "dim_domain", "policy domain", offsetof(struct rpt_filters, domain)},
    {"--org", "dim_org", "organization", offsetof(struct rpt_filters, org)},
    {"--mx", "dim_mx", "MX host", offsetof(struct rpt_filters, mx)},
    {"--type", "dim_type", "failure type", offsetof(struct rpt_filters, type)},
};

/* One scalar from sql, or -1. */
static int64_t scalar(sqlite3 *db, struct rpt_sql *q)
{
    sqlite3_stmt *st;
    struct tr_err err = {0};
    int64_t v = -1;

    if (rpt_sql_prepare(db, q, &st, &err) < 0)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Up to RPT_HINT_NAME_MAX code points of s, ASCII letters lowered. */
static size_t code_points(const char *s, uint32_t *out)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;

    while (*p && n < RPT_HINT_NAME_MAX) {
        uint32_t c = *p++;
        if (c >= 0xc0) {                        /* a lead byte: add its continuation bytes */
            while ((*p & 0xc0) == 0x80)
                c = (c << 6) | (*p++ & 0x3f);
        }
        out[n++] = c >= 'A' && c <= 'Z' ? c + 32 : c;
    }
    return n;
}

/* The edit distance of a and b, or limit + 1 as soon as it must be over
 * limit: the lengths differ by more, or a whole row of the table is over
 * it (a row's minimum never decreases).  Up to RPT_HINT_MAX_NAMES stored
 * names of RPT_HINT_NAME_MAX code points would otherwise cost seconds per
 * filter value. */
static size_t edit_distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t *row,
                            size_t limit)
{
    if ((na > nb ? na - nb : nb - na) > limit)
        return limit + 1;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0], low;
        low = row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
            if (best < low)
                low = best;
        }
        if (low > limit)
            return limit + 1;
    }
    return row[nb];
}

struct near {
    char *name;
    size_t dist;
};

/* The hint for value v of filter i, or NULL when v matches a name. */
static char *hint_for(sqlite3 *db, size_t i, const char *v)
{
    struct rpt_filter one = {.n = 1};
    struct rpt_sql q;
    struct near best[RPT_HINT_MAX];
    uint32_t a[RPT_HINT_NAME_MAX], b[RPT_HINT_NAME_MAX];
    size_t row[RPT_HINT_NAME_MAX + 1], na, n_best = 0, n_names = 0, close, work = 0;
    struct tr_buf text;
    sqlite3_stmt *st;
    struct tr_err err = {0};
    char *names[RPT_HINT_LIST_ALL];
    char *ev;
    int64_t hit;

    one.v[0] = v;
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT EXISTS (SELECT 1 FROM ");
    rpt_sql_add(&q, dims[i].dim);
    rpt_sql_add(&q, " WHERE 1");
    rpt_sql_filter(&q, "name", &one);
    rpt_sql_add(&q, ")");
    hit = scalar(db, &q);
    rpt_sql_free(&q);
    if (hit != 0)
        return NULL;
    if (dims[i].off == offsetof(struct rpt_filters, domain)) {
        /* A domain only checked live (check_run, no report yet) is known:
         * findings report on it. */
        rpt_sql_init(&q);
        rpt_sql_add(&q, "SELECT EXISTS (SELECT 1 FROM check_run WHERE 1");
        rpt_sql_filter(&q, "domain", &one);
        rpt_sql_add(&q, ")");
        hit = scalar(db, &q);
        rpt_sql_free(&q);
        if (hit == 1)
            return NULL;
    }

    na = code_points(v, a);
    close = na / 3 > 2 ? na / 3 : 2;            /* a typo or two, more in long names */
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT name FROM ");
    rpt_sql_add(&q, dims[i].dim);
    rpt_sql_add(&q, " ORDER BY name LIMIT ?");
    rpt_sql_bind_int(&q, RPT_HINT_MAX_NAMES);
    if (rpt_sql_prepare(db, &q, &st, &err) < 0) {
        rpt_sql_free(&q);
        return NULL;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        size_t nb, d, at;
        if (name == NULL)
            continue;
        if (n_names < RPT_HINT_LIST_ALL)
            names[n_names] = xstrdup(name);
        n_names++;
        if (strchr(v, '*') != NULL)
            continue;                           /* a pattern: no distance */
        if (work > RPT_HINT_WORK_MAX)
            continue;                           /* listed, no longer compared */
        nb = code_points(name, b);
        work += (na + 1) * (nb + 1);
        d = edit_distance(a, na, b, nb, row, close);
        if (d > close)
            continue;
        /* insert by distance (then name order, as read), keep the best */
        for (at = n_best; at > 0 && best[at - 1].dist > d; at--)
            ;
        if (at == RPT_HINT_MAX)
            continue;
        if (n_best == RPT_HINT_MAX)
            free(best[--n_best].name);
        memmove(&best[at + 1], &best[at], (n_best - at) * sizeof *best);
        best[at].name = xstrdup(name);
        best[at].dist = d;
        n_best++;
    }
    sqlite3_finalize(st);
    rpt_sql_free(&q);

    ev = rpt_name_escape(v);
    tr_buf_init(&text, RPT_HINT_TEXT_MAX);
    (void)tr_buf_printf(&text, "%s '%s' matches no %s in the database", dims[i].opt, ev, dims[i].what);
    free(ev);
    if (n_best > 0 || (n_names > 0 && n_names <= RPT_HINT_LIST_ALL)) {
        size_t n = n_best > 0 ? n_best : n_names;
        (void)tr_buf_printf(&text, "%s", n_best > 0 ? "; nearest: " : "; known: ");
        for (size_t k = 0; k < n; k++) {
            char *e = rpt_name_escape(n_best > 0 ? best[k].name : names[k]);
            (void)tr_buf_printf(&text, "%s%s", k ? ", " : "", e);
            free(e);
        }
    }
    for (size_t k = 0; k < n_best; k++)
        free(best[k].name);
    for (size_t k = 0; k < n_names && k < RPT_HINT_LIST_ALL; k++)
        free(names[k]);
    return (char *)tr_buf_steal(&text, NULL);
}

size_t rpt_filter_hints(sqlite3 *db, const struct rpt_filters *f, char ***lines)
{
    struct rpt_sql q;
    size_t n = 0;

    *lines = NULL;
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT EXISTS (SELECT 1 FROM roll_pending)");
    if (scalar(db, &q) != 0) {                  /* names may be missing, or no rollups */
        rpt_sql_free(&q);
        return 0;
    }
    rpt_sql_free(&q);
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        const struct rpt_filter *fl = (const struct rpt_filter *)((const char *)f + dims[i].off);
        for (size_t k = 0; k < fl->n; k++) {
            char *h = hint_for(db, i, fl->v[k]);
            if (h == NULL)
                continue;
            *lines = xrealloc(*lines, (n + 1) * sizeof **lines);
            (*lines)[n++] = h;
        }
    }
    return n;
}
