/*
 * dashboard.c - the `html` dashboard page (dashboard.h).
 *
 * Four queries of query.h give every number: sessions per (domain, day)
 * and per (domain, org, day) from the summaries, failed sessions per
 * (domain, day, type) and per (domain, mx, type, day) from the failure
 * details, as `summary` and `trend` count them.  The rows are sorted once
 * by domain (struct ref) so that each domain's section reads a contiguous
 * run.  The charts, the page's writer and its style sheet are in
 * dashchart.c, the findings section in dashfind.c, the policies senders
 * saw (their own query) in dashpol.c.
 */
#include "dashboard.h"
#include "dashchart.h"
#include "dashpol.h"
#include "args.h"
#include "output.h"
#include "tlsrpt/codes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One sortable row reference: a table row by (domain, key, key2, day). */
struct ref {
    const char *dom, *key, *key2;
    int64_t day;
    size_t row;
};

struct dom {
    const char *name;                  /* borrowed from a table */
    int64_t reports, ok, bad;          /* window totals from the summaries */
    int64_t *d_reports, *d_ok, *d_bad; /* per day of the window */
    enum rpt_severity worst;           /* most severe finding, RPT_SEV_NONE */
    size_t n_findings;
};

struct page {
    struct rpt_html h;
    const struct rpt_scope *s;
    const struct rpt_findings *f;
    int64_t now;
    struct rpt_chart_days cd;          /* the window's days */
    struct rpt_table *sess, *mx, *org, *tot;
    struct rpt_dash_pols *pols;        /* the policy tables' rows */
    struct ref *fail_r, *mx_r, *org_r; /* sorted row references (fail_r: to mx's rows) */
    struct dom *doms;
    size_t ndoms;
};

/* The page's writer (dashchart.c). */
#define put(p, ...) rpt_page_put(&(p)->h, __VA_ARGS__)
#define esc(p, s) rpt_page_esc(&(p)->h, (s), 0)

static const char *text(const struct rpt_table *t, size_t r, size_t c)
{
    const struct rpt_cell *cell = rpt_table_cell(t, r, c);
    return cell->kind == RPT_TEXT ? cell->s : "(none)";
}

static int64_t num(const struct rpt_table *t, size_t r, size_t c)
{
    const struct rpt_cell *cell = rpt_table_cell(t, r, c);
    return cell->kind == RPT_INT ? cell->i : 0;
}

static int cmp_ref(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    int c = strcmp(x->dom, y->dom);
    if (c == 0 && x->key)
        c = strcmp(x->key, y->key);
    if (c == 0 && x->key2)
        c = strcmp(x->key2, y->key2);
    if (c == 0)
        c = (x->day > y->day) - (x->day < y->day);
    return c;
}

/* References to t's rows by its columns dom, key, key2 (-1: none) and day,
 * sorted. */
static struct ref *sorted_refs(const struct rpt_table *t, int dom, int key, int key2, int day)
{
    struct ref *r = xcalloc(t->nrows + 1, sizeof *r);
    for (size_t i = 0; i < t->nrows; i++) {
        r[i].dom = text(t, i, (size_t)dom);
        r[i].key = key >= 0 ? text(t, i, (size_t)key) : NULL;
        r[i].key2 = key2 >= 0 ? text(t, i, (size_t)key2) : NULL;
        r[i].day = num(t, i, (size_t)day);
        r[i].row = i;
    }
    qsort(r, t->nrows, sizeof *r, cmp_ref);
    return r;
}

/* The run of refs (n of them) for domain name: [*lo, *hi). */
static void dom_run(const struct ref *r, size_t n, const char *name, size_t *lo, size_t *hi)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (strcmp(r[m].dom, name) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    for (b = a; b < n && strcmp(r[b].dom, name) == 0; b++)
        ;
    *hi = b;
}

/* Index of the window's day that starts at t, or -1. */
static long day_index(const struct page *p, int64_t t)
{
    if (t < p->cd.day0 || (t - p->cd.day0) % 86400 != 0 || (t - p->cd.day0) / 86400 >= (int64_t)p->cd.ndays)
        return -1;
    return (long)((t - p->cd.day0) / 86400);
}

static double fail_rate(const struct dom *d)
{
    return d->ok + d->bad > 0 ? (double)d->bad / (double)(d->ok + d->bad) : 0.0;
}

/* Worst first: the most severe finding, the failure rate, failed
 * sessions, then the name. */
static int cmp_dom(const void *a, const void *b)
{
    const struct dom *x = a, *y = b;
    double rx = fail_rate(x), ry = fail_rate(y);
    if (x->worst != y->worst)
        return x->worst > y->worst ? -1 : 1;
    if (rx != ry)
        return rx > ry ? -1 : 1;
    if (x->bad != y->bad)
        return x->bad > y->bad ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Compares two names; also a struct dom with a name key (bsearch), whose
 * first member is its name. */
static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The policy domains: those with sessions and those with failure details,
 * with their per-day sessions and their findings' worst severity. */
static void collect_domains(struct page *p)
{
    size_t n = 0, cap = p->sess->nrows + p->mx->nrows + 1;
    const char **names = xcalloc(cap, sizeof *names);

    for (size_t r = 0; r < p->sess->nrows; r++)
        names[n++] = text(p->sess, r, 0);
    for (size_t r = 0; r < p->mx->nrows; r++)
        names[n++] = text(p->mx, r, 0);
    qsort(names, n, sizeof *names, cmp_name);
    p->doms = xcalloc(n + 1, sizeof *p->doms);
    for (size_t i = 0; i < n; i++) {
        struct dom *d;
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue;
        d = &p->doms[p->ndoms++];
        d->name = names[i];
        d->worst = RPT_SEV_NONE;
        d->d_reports = xcalloc(p->cd.ndays, sizeof *d->d_reports);
        d->d_ok = xcalloc(p->cd.ndays, sizeof *d->d_ok);
        d->d_bad = xcalloc(p->cd.ndays, sizeof *d->d_bad);
    }
    free(names);
    /* sessions: domain, day, reports, successful_sessions, failed_sessions */
    for (size_t r = 0; r < p->sess->nrows; r++) {
        const char *name = text(p->sess, r, 0);
        struct dom key = {.name = name}, *d = bsearch(&key, p->doms, p->ndoms, sizeof *p->doms, cmp_name);
        long i = day_index(p, num(p->sess, r, 1));
        if (d == NULL)
            continue;
        d->reports += num(p->sess, r, 2);
        d->ok += num(p->sess, r, 3);
        d->bad += num(p->sess, r, 4);
        if (i >= 0) {
            d->d_reports[i] += num(p->sess, r, 2);
            d->d_ok[i] += num(p->sess, r, 3);
            d->d_bad[i] += num(p->sess, r, 4);
        }
    }
    for (size_t i = 0; p->f && i < p->f->n; i++) {
        const struct rpt_finding *fd = &p->f->v[i];
        struct dom key = {.name = fd->domain}, *d;
        if (fd->domain == NULL)
            continue;
        d = bsearch(&key, p->doms, p->ndoms, sizeof *p->doms, cmp_name);
        if (d != NULL) {
            d->n_findings++;
            if (fd->severity > d->worst)
                d->worst = fd->severity;
        }
    }
    qsort(p->doms, p->ndoms, sizeof *p->doms, cmp_dom);
}

/* "1,234" */
static const char *count(int64_t n, char *buf)
{
    return rpt_fmt_count(n, buf);
}

static void rate_cell(struct page *p, int64_t ok, int64_t bad)
{
    double rate = rpt_success_rate(ok, bad);
    if (rate < 0)
        put(p, "<td class=\"n muted\">-</td>");
    else
        put(p, "<td class=\"n %s\">%.2f%%</td>", bad > 0 ? "bad" : "ok", rate);
}

/* A domain's failure types per day, for its chart: mx's rows (domain, mx,
 * type, day, failed_sessions) summed over the MX hosts, through fail_r
 * sorted by (domain, type, day). */
static void failures_chart(struct page *p, size_t id, const struct dom *d)
{
    size_t lo, hi, nt = 0;
    struct rpt_chart_type *types;

    dom_run(p->fail_r, p->mx->nrows, d->name, &lo, &hi);
    types = xcalloc(hi - lo + 1, sizeof *types);
    for (size_t k = lo; k < hi; k++) {
        const struct ref *r = &p->fail_r[k];
        long i = day_index(p, r->day);
        if (nt == 0 || strcmp(types[nt - 1].name, r->key) != 0) {
            types[nt].name = r->key;
            types[nt++].per_day = xcalloc(p->cd.ndays, sizeof(int64_t));
        }
        types[nt - 1].total += num(p->mx, r->row, 4);
        if (i >= 0)
            types[nt - 1].per_day[i] += num(p->mx, r->row, 4);
    }
    rpt_chart_failures(&p->h, &p->cd, id, d->name, types, nt);
    for (size_t t = 0; t < nt; t++)
        free(types[t].per_day);
    free(types);
}

/* The MX hosts with failures: failed sessions, by type (most first),
 * first and last failure day; the host with most failures first.  Rows
 * of mx: domain, mx, type, day, failed_sessions, refs sorted by (domain,
 * mx, type, day). */
struct mxrow {
    const char *mx;
    int64_t total, first, last;
    size_t lo, hi;                     /* its refs */
};

static int cmp_mxrow(const void *a, const void *b)
{
    const struct mxrow *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return strcmp(x->mx, y->mx);
}

static void mx_table(struct page *p, const struct dom *d)
{
    size_t lo, hi, n = 0;
    struct mxrow *rows;
    char n1[RPT_NUM_MAX];

    dom_run(p->mx_r, p->mx->nrows, d->name, &lo, &hi);
    put(p, "<h3>MX hosts with failures</h3>\n");
    if (lo == hi) {
        put(p, "<p class=\"muted\">None in the window.</p>\n");
        return;
    }
    rows = xcalloc(hi - lo, sizeof *rows);
    for (size_t k = lo; k < hi; k++) {
        const struct ref *r = &p->mx_r[k];
        struct mxrow *m = n ? &rows[n - 1] : NULL;
        int64_t v = num(p->mx, r->row, 4);
        if (m == NULL || strcmp(m->mx, r->key) != 0) {
            m = &rows[n++];
            m->mx = r->key;
            m->first = r->day;
            m->last = r->day;
            m->lo = k;
        }
        m->hi = k + 1;
        m->total += v;
        if (r->day < m->first)
            m->first = r->day;
        if (r->day > m->last)
            m->last = r->day;
    }
    qsort(rows, n, sizeof *rows, cmp_mxrow);
    put(p, "<div class=\"tw\"><table class=\"mx\"><thead><tr><th>MX host</th><th class=\"n\">failed sessions</th>"
           "<th>by failure type</th><th class=\"n\">first failure</th><th class=\"n\">last failure</th>"
           "</tr></thead><tbody>\n");
    for (size_t i = 0; i < n && i < RPT_DASH_MAX_ROWS; i++) {
        struct rpt_chart_type *ty = xcalloc(rows[i].hi - rows[i].lo, sizeof *ty);
        size_t nt = 0;
        for (size_t k = rows[i].lo; k < rows[i].hi; k++) {
            const struct ref *r = &p->mx_r[k];
            if (nt == 0 || strcmp(ty[nt - 1].name, r->key2) != 0)
                ty[nt++].name = r->key2;
            ty[nt - 1].total += num(p->mx, r->row, 4);
        }
        qsort(ty, nt, sizeof *ty, rpt_chart_type_cmp);
        put(p, "<tr><td>");
        esc(p, rows[i].mx);
        put(p, "</td><td class=\"n bad\">%s</td><td>", count(rows[i].total, n1));
        for (size_t t = 0; t < nt; t++) {
            put(p, "%s", t ? "<br>" : "");
            esc(p, ty[t].name);
            put(p, " %s", count(ty[t].total, n1));
        }
        put(p, "</td>");
        rpt_page_day(&p->h, rows[i].first);
        rpt_page_day(&p->h, rows[i].last);
        put(p, "</tr>\n");
        free(ty);
    }
    put(p, "</tbody></table></div>\n");
    rpt_page_more(&p->h, n > RPT_DASH_MAX_ROWS ? n - RPT_DASH_MAX_ROWS : 0, "MX hosts");
    free(rows);
}

/* The reporting organizations: last report day in the window, reports,
 * sessions, failed sessions, success rate; most failures first.  Rows of
 * org: domain, org, day, reports, successful_sessions, failed_sessions. */
struct orgrow {
    const char *org;
    int64_t last, reports, ok, bad;
};

static int cmp_orgrow(const void *a, const void *b)
{
    const struct orgrow *x = a, *y = b;
    if (x->bad != y->bad)
        return x->bad > y->bad ? -1 : 1;
    if (x->ok != y->ok)
        return x->ok > y->ok ? -1 : 1;
    return strcmp(x->org, y->org);
}

static void org_table(struct page *p, const struct dom *d)
{
    size_t lo, hi, n = 0;
    struct orgrow *rows;
    char n1[RPT_NUM_MAX];

    dom_run(p->org_r, p->org->nrows, d->name, &lo, &hi);
    put(p, "<h3>Reporting organizations</h3>\n");
    if (lo == hi) {
        put(p, "<p class=\"muted\">No report in the window.</p>\n");
        return;
    }
    rows = xcalloc(hi - lo, sizeof *rows);
    for (size_t k = lo; k < hi; k++) {
        const struct ref *r = &p->org_r[k];
        struct orgrow *o = n ? &rows[n - 1] : NULL;
        if (o == NULL || strcmp(o->org, r->key) != 0) {
            o = &rows[n++];
            o->org = r->key;
        }
        if (r->day > o->last)
            o->last = r->day;
        o->reports += num(p->org, r->row, 3);
        o->ok += num(p->org, r->row, 4);
        o->bad += num(p->org, r->row, 5);
    }
    qsort(rows, n, sizeof *rows, cmp_orgrow);
    put(p, "<div class=\"tw\"><table class=\"org\"><thead><tr><th>organization</th><th class=\"n\">last report</th>"
           "<th class=\"n\">reports</th><th class=\"n\">sessions</th><th class=\"n\">failed</th>"
           "<th class=\"n\">success rate</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < n && i < RPT_DASH_MAX_ROWS; i++) {
        put(p, "<tr><td>");
        esc(p, rows[i].org);
        put(p, "</td>");
        rpt_page_day(&p->h, rows[i].last);
        put(p, "<td class=\"n\">%s</td>", count(rows[i].reports, n1));
        put(p, "<td class=\"n\">%s</td>", count(rows[i].ok + rows[i].bad, n1));
        put(p, "<td class=\"n%s\">%s</td>", rows[i].bad ? " bad" : "", count(rows[i].bad, n1));
        rate_cell(p, rows[i].ok, rows[i].bad);
        put(p, "</tr>\n");
    }
    put(p, "</tbody></table></div>\n");
    rpt_page_more(&p->h, n > RPT_DASH_MAX_ROWS ? n - RPT_DASH_MAX_ROWS : 0, "organizations");
    free(rows);
}

static void domain_section(struct page *p, size_t id, const struct dom *d)
{
    char n1[RPT_NUM_MAX], n2[RPT_NUM_MAX], n3[RPT_NUM_MAX];
    double rate = rpt_success_rate(d->ok, d->bad);

    put(p, "<section class=\"domain\" id=\"d%zu\"><h2>", id);
    esc(p, d->name);
    put(p, "</h2>\n<p>%s sessions, <span class=\"%s\">%s failed</span>", count(d->ok + d->bad, n1),
        d->bad ? "bad" : "ok", count(d->bad, n2));
    if (rate >= 0)
        put(p, ", %.2f%% with TLS", rate);
    put(p, "; %s report%s", count(d->reports, n3), d->reports == 1 ? "" : "s");
    if (d->n_findings)
        put(p, "; <a href=\"#findings\">%zu finding%s</a>", d->n_findings, d->n_findings == 1 ? "" : "s");
    put(p, ".</p>\n");
    rpt_chart_sessions(&p->h, &p->cd, id, d->name, d->d_reports, d->d_ok, d->d_bad);
    failures_chart(p, id, d);
    mx_table(p, d);
    org_table(p, d);
    rpt_dash_pols_table(&p->h, p->pols, d->name);
    put(p, "</section>\n");
}

/* Every domain in one table, worst first, linked to its section. */
static void overview(struct page *p)
{
    char n1[RPT_NUM_MAX];

    put(p, "<section id=\"domains\"><h2>Policy domains</h2>\n");
    if (p->ndoms == 0) {
        put(p, "<p class=\"muted\">No report in the window.</p></section>\n");
        return;
    }
    put(p, "<div class=\"tw\"><table class=\"domains\"><thead><tr><th>policy domain</th><th class=\"n\">reports</th><th class=\"n\">sessions</th>"
           "<th class=\"n\">failed</th><th class=\"n\">success rate</th><th class=\"n\">findings</th>"
           "</tr></thead><tbody>\n");
    for (size_t i = 0; i < p->ndoms && i < RPT_DASH_MAX_DOMAINS; i++) {
        const struct dom *d = &p->doms[i];
        put(p, "<tr><td><a href=\"#d%zu\">", i);
        esc(p, d->name);
        put(p, "</a></td><td class=\"n\">%s</td>", count(d->reports, n1));
        put(p, "<td class=\"n\">%s</td>", count(d->ok + d->bad, n1));
        put(p, "<td class=\"n%s\">%s</td>", d->bad ? " bad" : "", count(d->bad, n1));
        rate_cell(p, d->ok, d->bad);
        put(p, "<td class=\"n\">%zu</td></tr>\n", d->n_findings);
    }
    put(p, "</tbody></table></div>\n");
    if (p->ndoms > RPT_DASH_MAX_DOMAINS)
        put(p, "<p class=\"muted\">... and %zu more policy domains: use --domain to see them.</p>\n",
            p->ndoms - RPT_DASH_MAX_DOMAINS);
    put(p, "</section>\n");
}

/* The filters given, as options: " Filtered: --domain example.com ...". */
static void filters(struct page *p)
{
    const struct rpt_filters *f = p->s->f;
    const struct { const char *opt; const struct rpt_filter *v; } all[] = {
        {"--domain", &f->domain}, {"--org", &f->org}, {"--mx", &f->mx}, {"--type", &f->type},
    };
    int any = 0;

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        for (size_t k = 0; k < all[i].v->n; k++) {
            put(p, "%s %s <code>", any++ ? "" : " Filtered:", all[i].opt);
            esc(p, all[i].v->v[k]);
            put(p, "</code>");
        }
    if (f->received_since != 0) {
        char when[RPT_LABEL_MAX];
        rpt_fmt_datetime(f->received_since, when);
        put(p, "%s --received-since %s", any++ ? "" : " Filtered:", when);
    }
    if (any)
        put(p, ".");
}

static void page_head(struct page *p)
{
    char period[RPT_LABEL_MAX * 2 + 8], a[RPT_LABEL_MAX], b[RPT_LABEL_MAX], gen[RPT_LABEL_MAX];
    char n1[RPT_NUM_MAX], n2[RPT_NUM_MAX], n3[RPT_NUM_MAX];
    int64_t ok = num(p->tot, 0, 1), bad = num(p->tot, 0, 2);
    double rate = rpt_success_rate(ok, bad);

    rpt_fmt_datetime(p->s->since, a);
    rpt_fmt_datetime(p->s->until, b);
    snprintf(period, sizeof period, "%s to %s", a, b);
    rpt_fmt_datetime(p->now, gen);
    put(p, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>TLS-RPT dashboard, %s</title>\n<style>\n%s</style>\n</head>\n<body><main>\n", period,
        rpt_dash_css);
    put(p, "<header><h1>TLS-RPT dashboard</h1>\n<p class=\"muted\">Reports starting %s (UTC); as of %s.",
        period, gen);
    filters(p);
    put(p, "</p>\n<p><b>%s sessions</b>, <b class=\"%s\">%s failed</b>", count(ok + bad, n1),
        bad ? "bad" : "ok", count(bad, n2));
    if (rate >= 0)
        put(p, ", <b>%.2f%%</b> with TLS", rate);
    put(p, "; %s report%s; %zu policy domain%s.</p></header>\n", count(num(p->tot, 0, 0), n3),
        num(p->tot, 0, 0) == 1 ? "" : "s", p->ndoms, p->ndoms == 1 ? "" : "s");
}

static void page_foot(struct page *p)
{
    put(p, "<footer class=\"muted\"><p>Counted as <code>tlsrpt-report summary</code> and <code>trend</code> "
           "count: a report belongs to the day it starts; sessions reported under both an sts and a tlsa "
           "policy count once. * marks a day not complete in the window. tlsrpt-report " TLSRPT_VERSION
           ".</p></footer>\n</main></body></html>\n");
}

int rpt_dashboard_build(sqlite3 *db, const struct rpt_scope *s, const struct rpt_findings *f,
                        int64_t now, char **out, size_t *len, struct tr_err *err)
{
    static const enum rpt_key k_sess[] = {RPT_K_DOMAIN, RPT_K_DAY};
    static const enum rpt_key k_mx[] = {RPT_K_DOMAIN, RPT_K_MX, RPT_K_TYPE, RPT_K_DAY};
    static const enum rpt_key k_org[] = {RPT_K_DOMAIN, RPT_K_ORG, RPT_K_DAY};
    struct rpt_scope q = *s;
    struct page p;
    const char **shown = NULL;         /* the domains given a section */
    size_t nshown = 0;
    int64_t last;
    int rc = -1;

    memset(&p, 0, sizeof p);
    last = rpt_day_start(s->until - 1);
    p.cd.day0 = rpt_day_start(s->since);
    if (last < p.cd.day0 || (last - p.cd.day0) / 86400 + 1 > RPT_DASH_MAX_DAYS) {
        tr_err_set(err, TR_E_USAGE, "html: the window covers more than %d days (use --since)",
                   RPT_DASH_MAX_DAYS);
        return -1;
    }
    p.cd.ndays = (size_t)((last - p.cd.day0) / 86400 + 1);
    p.s = s;
    p.f = f;
    p.now = now;
    p.cd.until = s->until;
    p.cd.now = now;
    q.epoch_keys = 1;
    q.any_order = 1;
    p.sess = rpt_table_new();
    p.mx = rpt_table_new();
    p.org = rpt_table_new();
    p.tot = rpt_table_new();
    tr_buf_init(&p.h.b, RPT_DASH_MAX);
    /* The failures by (domain, day, type) are summed from those by MX host
     * too (failures_chart): one rollup query less. */
    if (rpt_q_sessions(db, &q, k_sess, 2, p.sess, err) < 0 || rpt_q_failed(db, &q, k_mx, 4, p.mx, err) < 0 || rpt_q_sessions(db, &q, k_org, 3, p.org, err) < 0 ||
        rpt_q_sessions(db, s, NULL, 0, p.tot, err) < 0)
        goto done;
    p.fail_r = sorted_refs(p.mx, 0, 2, -1, 3);
    p.mx_r = sorted_refs(p.mx, 0, 1, 2, 3);
    p.org_r = sorted_refs(p.org, 0, 1, -1, 2);
    collect_domains(&p);
    shown = xcalloc(p.ndoms + 1, sizeof *shown);
    for (size_t i = 0; i < p.ndoms && i < RPT_DASH_MAX_DOMAINS; i++)
        shown[nshown++] = p.doms[i].name;
    if (rpt_dash_pols_load(db, s, shown, nshown, &p.pols, err) < 0)
        goto done;
    page_head(&p);
    rpt_dash_findings(&p.h, p.f);
    overview(&p);
    for (size_t i = 0; i < p.ndoms && i < RPT_DASH_MAX_DOMAINS; i++)
        domain_section(&p, i, &p.doms[i]);
    page_foot(&p);
    if (p.h.overflow) {
        tr_err_set(err, TR_E_LIMIT_MESSAGE_SIZE, "html: the page would exceed %zu bytes (narrow the window "
                   "or use --domain)", RPT_DASH_MAX);
        goto done;
    }
    *out = (char *)tr_buf_steal(&p.h.b, len);
    rc = 0;
done:
    tr_buf_free(&p.h.b);
    for (size_t i = 0; i < p.ndoms; i++) {
        free(p.doms[i].d_reports);
        free(p.doms[i].d_ok);
        free(p.doms[i].d_bad);
    }
    free(p.doms);
    free(shown);
    free(p.fail_r);
    free(p.mx_r);
    free(p.org_r);
    rpt_table_free(p.sess);
    rpt_table_free(p.mx);
    rpt_table_free(p.org);
    rpt_dash_pols_free(p.pols);
    rpt_table_free(p.tot);
    return rc;
}
