/*
 * digest.c - gathers the summary email's content and renders its Subject
 * and text/plain body.
 *
 * Comparisons are between two runs of the same queries: this period and
 * the previous one (same length, just before).  "New" failure types and MX
 * hosts are those with failed sessions now and none before; "gone silent"
 * reporters are (organization, policy domain) pairs with a report in the
 * previous period and none in this one.  The findings (findings.h) and the
 * sessions per day (trend.h) cover the RPT_FIND_DEFAULT_DAYS days ending
 * where the period ends.  Policy domains are listed worst first.  The
 * text body reuses the terminal table writer on a memory stream, so its
 * tables align the same way.
 */
#include "digest.h"
#include "tlsrpt/codes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rpt_digest_free(struct rpt_digest *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_domains; i++)
        free(d->domains[i].domain);
    free(d->domains);
    rpt_table_free(d->failures);
    rpt_table_free(d->new_types);
    rpt_table_free(d->new_mx);
    rpt_table_free(d->silent);
    rpt_table_free(d->policies);
    free(d->filter_domains);
    rpt_findings_free(d->findings);
    rpt_trend_free(d->days);
    free(d);
}

static struct rpt_digest_domain *domain_entry(struct rpt_digest *d, const char *name)
{
    for (size_t i = 0; i < d->n_domains; i++)
        if (strcmp(d->domains[i].domain, name) == 0)
            return &d->domains[i];
    d->domains = xrealloc(d->domains, (d->n_domains + 1) * sizeof *d->domains);
    memset(&d->domains[d->n_domains], 0, sizeof *d->domains);
    d->domains[d->n_domains].domain = xstrdup(name);
    return &d->domains[d->n_domains++];
}

/* 1 when table t has a row whose first ncmp text cells equal row r of u. */
static int has_row(const struct rpt_table *t, const struct rpt_table *u, size_t r, size_t ncmp)
{
    for (size_t i = 0; i < t->nrows; i++) {
        size_t c = 0;
        for (; c < ncmp; c++) {
            const struct rpt_cell *a = rpt_table_cell(t, i, c), *b = rpt_table_cell(u, r, c);
            if (a->kind != RPT_TEXT || b->kind != RPT_TEXT || strcmp(a->s, b->s) != 0)
                break;
        }
        if (c == ncmp)
            return 1;
    }
    return 0;
}

/* Rows of now (first ncmp columns as the key) absent from before, with the
 * now table's columns.  Caller owns the result. */
static struct rpt_table *rows_not_in(const struct rpt_table *now, const struct rpt_table *before,
                                     size_t ncmp)
{
    struct rpt_table *t = rpt_table_new();
    for (size_t c = 0; c < now->ncols; c++)
        rpt_table_add_col(t, now->cols[c].name, now->cols[c].style);
    for (size_t r = 0; r < now->nrows; r++) {
        if (has_row(before, now, r, ncmp))
            continue;
        size_t n = rpt_table_add_row(t);
        for (size_t c = 0; c < now->ncols; c++) {
            const struct rpt_cell *cell = rpt_table_cell(now, r, c);
            if (cell->kind == RPT_TEXT)
                rpt_table_set_text(t, n, c, cell->s);
            else if (cell->kind == RPT_INT)
                rpt_table_set_int(t, n, c, cell->i);
        }
    }
    return t;
}

/* Worst first: most failed sessions, then domains with sessions before
 * those without (only in the previous period), then the lowest success
 * rate, then by name. */
static int worst_first(const void *pa, const void *pb)
{
    const struct rpt_digest_domain *a = pa, *b = pb;
    double ra = rpt_success_rate(a->ok, a->bad), rb = rpt_success_rate(b->ok, b->bad);

    if (a->bad != b->bad)
        return a->bad > b->bad ? -1 : 1;
    if ((ra < 0) != (rb < 0))
        return ra < 0 ? 1 : -1;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return strcmp(a->domain, b->domain);
}

/* The findings and the per-day series of the window of findings: the
 * RPT_FIND_DEFAULT_DAYS UTC days up to the one holding the period's last
 * second, ending at the period's end; same filters. */
static int build_window(sqlite3 *db, const struct rpt_scope *s, const struct rpt_find_opts *fo, int64_t now,
                        struct rpt_digest *d, struct tr_err *err)
{
    struct rpt_scope w = *s;
    struct rpt_find_opts defaults;

    w.since = rpt_day_start(s->until - 1) - (int64_t)(RPT_FIND_DEFAULT_DAYS - 1) * 86400;
    w.any_order = 0;
    w.epoch_keys = 0;
    d->find_since = w.since;
    if (fo == NULL) {
        rpt_find_opts_default(&defaults);
        fo = &defaults;
    }
    if (rpt_trend_build(db, &w, RPT_I_DAY, now, &d->days, err) < 0)
        return -1;
    return rpt_findings_build(db, &w, fo, now, &d->findings, err);
}

int rpt_digest_find_opts(const struct rpt_opts *o, struct rpt_find_opts *fo, struct tr_err *err)
{
    rpt_find_opts_default(fo);
    if (o->warn_rate >= 0)
        fo->warn_rate = o->warn_rate;
    if (o->crit_rate >= 0)
        fo->crit_rate = o->crit_rate;
    if (o->silent_days >= 0)
        fo->silent_days = o->silent_days;
    if (o->stopped_days >= 0)
        fo->stopped_days = o->stopped_days;
    if (o->ready_days >= 0)
        fo->ready_days = o->ready_days;
    if (o->check_days >= 0)
        fo->check_days = o->check_days;
    if (fo->warn_rate > fo->crit_rate) {
        tr_err_set(err, TR_E_USAGE, "--warn-rate %.2f is above --crit-rate %.2f", fo->warn_rate, fo->crit_rate);
        return -1;
    }
    return 0;
}

int rpt_digest_build(sqlite3 *db, const struct rpt_scope *s, const struct rpt_find_opts *fo, int64_t now,
                     struct rpt_digest **out, struct tr_err *err)
{
    static const enum rpt_key k_domain[] = {RPT_K_DOMAIN}, k_fail[] = {RPT_K_TYPE, RPT_K_ORG, RPT_K_MX},
                              k_type[] = {RPT_K_TYPE}, k_mx[] = {RPT_K_MX},
                              k_rep[] = {RPT_K_ORG, RPT_K_DOMAIN};
    struct rpt_digest *d = xcalloc(1, sizeof *d);
    struct rpt_scope prev = *s;
    struct rpt_table *t[8] = {0};   /* dom, pdom, tot, types, ptypes, mx, pmx, reps... */
    struct rpt_table *reps = rpt_table_new(), *preps = rpt_table_new();
    int rc = -1;

    for (size_t i = 0; i < 8; i++)
        t[i] = rpt_table_new();
    d->since = s->since;
    d->until = s->until;
    d->prev_since = s->since - (s->until - s->since);
    prev.since = d->prev_since;
    prev.until = s->since;
    d->failures = rpt_table_new();
    d->policies = rpt_table_new();

    if (rpt_q_sessions(db, s, NULL, 0, t[0], err) < 0 ||
        rpt_q_sessions(db, s, k_domain, 1, t[1], err) < 0 ||
        rpt_q_sessions(db, &prev, k_domain, 1, t[2], err) < 0 ||
        rpt_q_failed(db, s, k_fail, 3, d->failures, err) < 0 ||
        rpt_q_failed(db, s, k_type, 1, t[3], err) < 0 ||
        rpt_q_failed(db, &prev, k_type, 1, t[4], err) < 0 ||
        rpt_q_failed(db, s, k_mx, 1, t[5], err) < 0 ||
        rpt_q_failed(db, &prev, k_mx, 1, t[6], err) < 0 ||
        rpt_q_failed(db, s, NULL, 0, t[7], err) < 0 ||
        rpt_q_sessions(db, s, k_rep, 2, reps, err) < 0 ||
        rpt_q_sessions(db, &prev, k_rep, 2, preps, err) < 0 ||
        rpt_q_policy_strings(db, s, d->policies, err) < 0 ||
        build_window(db, s, fo, now, d, err) < 0)
        goto done;

    d->reports = rpt_table_cell(t[0], 0, 0)->i;
    d->ok = rpt_table_cell(t[0], 0, 1)->i;
    d->bad = rpt_table_cell(t[0], 0, 2)->i;
    d->detail_failed = rpt_table_cell(t[7], 0, 0)->i;
    for (size_t r = 0; r < t[1]->nrows; r++) {
        struct rpt_digest_domain *e = domain_entry(d, rpt_table_cell(t[1], r, 0)->s);
        e->reports = rpt_table_cell(t[1], r, 1)->i;
        e->ok = rpt_table_cell(t[1], r, 2)->i;
        e->bad = rpt_table_cell(t[1], r, 3)->i;
    }
    for (size_t r = 0; r < t[2]->nrows; r++) {
        struct rpt_digest_domain *e = domain_entry(d, rpt_table_cell(t[2], r, 0)->s);
        e->prev_reports = rpt_table_cell(t[2], r, 1)->i;
        e->prev_ok = rpt_table_cell(t[2], r, 2)->i;
        e->prev_bad = rpt_table_cell(t[2], r, 3)->i;
    }
    if (d->n_domains > 1)
        qsort(d->domains, d->n_domains, sizeof *d->domains, worst_first);
    d->new_types = rows_not_in(t[3], t[4], 1);
    d->new_mx = rows_not_in(t[5], t[6], 1);
    {
        /* silent: in preps (org, domain) but not in reps; keep org, domain, reports */
        struct rpt_table *gone = rows_not_in(preps, reps, 2);
        d->silent = rpt_table_new();
        rpt_table_add_col(d->silent, "org", RPT_S_TEXT);
        rpt_table_add_col(d->silent, "domain", RPT_S_TEXT);
        rpt_table_add_col(d->silent, "reports_before", RPT_S_COUNT);
        for (size_t r = 0; r < gone->nrows; r++) {
            size_t n = rpt_table_add_row(d->silent);
            rpt_table_set_text(d->silent, n, 0, rpt_table_cell(gone, r, 0)->s);
            rpt_table_set_text(d->silent, n, 1, rpt_table_cell(gone, r, 1)->s);
            rpt_table_set_int(d->silent, n, 2, rpt_table_cell(gone, r, 2)->i);
        }
        rpt_table_free(gone);
    }
    if (s->f->domain.n > 0) {
        struct tr_buf b;
        tr_buf_init(&b, RPT_ESCAPED_MAX);
        for (size_t i = 0; i < s->f->domain.n; i++) {
            if (i)
                tr_buf_append(&b, ", ", 2);
            tr_buf_append(&b, s->f->domain.v[i], strlen(s->f->domain.v[i]));
        }
        d->filter_domains = (char *)tr_buf_steal(&b, NULL);
    }
    rc = 0;
done:
    for (size_t i = 0; i < 8; i++)
        rpt_table_free(t[i]);
    rpt_table_free(reps);
    rpt_table_free(preps);
    if (rc < 0)
        rpt_digest_free(d);
    else
        *out = d;
    return rc;
}

int rpt_digest_clean(const struct rpt_digest *d)
{
    return d->bad == 0 && d->detail_failed == 0 && d->backlog == 0;
}

int rpt_digest_quiet(const struct rpt_digest *d)
{
    const struct rpt_findings *f = d->findings;
    return d->backlog == 0 && (f == NULL || (f->n_critical == 0 && f->n_warning == 0 && !f->pipeline_stopped));
}

void rpt_digest_period(int64_t since, int64_t until, char *buf)
{
    char a[RPT_LABEL_MAX], b[RPT_LABEL_MAX];
    rpt_fmt_date(since, a);
    rpt_fmt_date(until - 1, b);
    if (strcmp(a, b) == 0)
        snprintf(buf, RPT_PERIOD_MAX, "%s", a);
    else
        snprintf(buf, RPT_PERIOD_MAX, "%s to %s", a, b);
}

/* "2 critical, 1 warning", "3 warnings", "all clean", with the spool
 * backlog when there is one.  Caller owns it. */
static char *status(const struct rpt_digest *d)
{
    const struct rpt_findings *f = d->findings;
    char n1[RPT_NUM_MAX], n2[RPT_NUM_MAX], n3[RPT_NUM_MAX];
    size_t crit = f ? f->n_critical : 0, warn = f ? f->n_warning : 0;
    char *s, *t;

    rpt_fmt_count((int64_t)crit, n1);
    rpt_fmt_count((int64_t)warn, n2);
    if (crit && warn)
        s = xasprintf("%s critical, %s warning%s", n1, n2, warn == 1 ? "" : "s");
    else if (crit)
        s = xasprintf("%s critical", n1);
    else if (warn)
        s = xasprintf("%s warning%s", n2, warn == 1 ? "" : "s");
    else
        s = xstrdup(d->backlog > 0 ? "" : "all clean");
    if (d->backlog <= 0)
        return s;
    t = xasprintf("%s%s%s report%s waiting in the spool", s, s[0] ? ", " : "", rpt_fmt_count(d->backlog, n3),
                  d->backlog == 1 ? "" : "s");
    free(s);
    return t;
}

char *rpt_digest_subject(const struct rpt_digest *d)
{
    char period[RPT_PERIOD_MAX], n1[RPT_NUM_MAX], n2[RPT_NUM_MAX];
    char *who, *subject, *safe, *st = status(d);
    double rate = rpt_success_rate(d->ok, d->bad);

    const char *named[RPT_SUBJECT_MAX_DOMAINS];
    size_t n = 0;

    /* Domains with reports in this period (those only in the previous one
     * are in the body's table, not in the Subject). */
    for (size_t i = 0; i < d->n_domains; i++)
        if (d->domains[i].reports > 0) {
            if (n < RPT_SUBJECT_MAX_DOMAINS)
                named[n] = d->domains[i].domain;
            n++;
        }
    if (n == 0)
        who = d->filter_domains ? xasprintf("%s ", d->filter_domains) : xstrdup("");
    else if (n <= RPT_SUBJECT_MAX_DOMAINS)
        who = n == 1 ? xasprintf("%s ", named[0]) : xasprintf("%s, %s ", named[0], named[1]);
    else
        who = xasprintf("%zu domains ", n);
    rpt_digest_period(d->since, d->until, period);
    if (d->reports == 0)
        subject = xasprintf("TLS-RPT %s%s: %s; no reports received", who, period, st);
    else if (rate < 0)
        subject = xasprintf("TLS-RPT %s%s: %s; no sessions reported", who, period, st);
    else
        subject = xasprintf("TLS-RPT %s%s: %s; %s failed of %s sessions (%.2f%% TLS)", who, period, st,
                            rpt_fmt_count(d->bad, n1), rpt_fmt_count(d->ok + d->bad, n2), rate);
    safe = rpt_term_escape(subject, strlen(subject), 0);
    free(st);
    free(who);
    free(subject);
    return safe;
}

/* Appends a table rendered by the terminal writer (no colour, no width). */
static void add_table(FILE *fp, const struct rpt_table *t)
{
    struct rpt_out o = {fp, RPT_FMT_TABLE, 0, 0};
    rpt_out_table(&o, t);
}

/* Appends report text, escaped as one line. */
static void add_text(FILE *fp, const char *s)
{
    char *e = rpt_name_escape(s);
    fputs(e, fp);
    free(e);
}

/* The per-domain table: domain, reports, sessions, failed, rate, previous
 * rate, change.  Shared with html.c through the same numbers. */
static struct rpt_table *domain_table(const struct rpt_digest *d)
{
    struct rpt_table *t = rpt_table_new();
    rpt_table_add_col(t, "domain", RPT_S_TEXT);
    rpt_table_add_col(t, "reports", RPT_S_COUNT);
    rpt_table_add_col(t, "sessions", RPT_S_COUNT);
    rpt_table_add_col(t, "failed", RPT_S_FAIL);
    rpt_table_add_col(t, "tls", RPT_S_RATE);
    rpt_table_add_col(t, "before", RPT_S_RATE);
    rpt_table_add_col(t, "change", RPT_S_PP);
    for (size_t i = 0; i < d->n_domains; i++) {
        const struct rpt_digest_domain *e = &d->domains[i];
        size_t r = rpt_table_add_row(t);
        double now = rpt_success_rate(e->ok, e->bad), before = rpt_success_rate(e->prev_ok, e->prev_bad);
        rpt_table_set_text(t, r, 0, e->domain);
        rpt_table_set_int(t, r, 1, e->reports);
        rpt_table_set_int(t, r, 2, e->ok + e->bad);
        rpt_table_set_int(t, r, 3, e->bad);
        if (now >= 0)
            rpt_table_set_real(t, r, 4, now);
        if (before >= 0)
            rpt_table_set_real(t, r, 5, before);
        if (now >= 0 && before >= 0)
            rpt_table_set_real(t, r, 6, rpt_round2(now - before));
    }
    return t;
}

char *rpt_digest_text(const struct rpt_digest *d)
{
    char *buf = NULL, *subject = rpt_digest_subject(d);
    char period[RPT_PERIOD_MAX], before[RPT_PERIOD_MAX], n1[RPT_NUM_MAX];
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    struct rpt_table *t;

    if (fp == NULL)
        tr_oom();
    rpt_digest_period(d->since, d->until, period);
    rpt_digest_period(d->prev_since, d->since, before);
    fprintf(fp, "%s\n\nPeriod %s (UTC), compared with %s.\n", subject, period, before);
    fprintf(fp, "%s report%s received for this period.\n", rpt_fmt_count(d->reports, n1),
            d->reports == 1 ? "" : "s");
    if (d->detail_failed != d->bad)
        fprintf(fp, "Failure details add up to %s failed sessions.\n", rpt_fmt_count(d->detail_failed, n1));
    if (d->backlog > 0)
        fprintf(fp, "WARNING: %s report%s captured by tlsrpt-milter wait%s in its spool, not stored for more "
                "than 5 minutes: see the milter's log.\n", rpt_fmt_count(d->backlog, n1),
                d->backlog == 1 ? "" : "s", d->backlog == 1 ? "s" : "");
    rpt_digest_text_attention(fp, d);
    rpt_digest_text_days(fp, d);

    fprintf(fp, "\nTLS success rate by policy domain, %s, worst first\n\n", period);
    t = domain_table(d);
    add_table(fp, t);
    rpt_table_free(t);

    fputs("\nFailures by type, sending organization and MX\n\n", fp);
    if (d->failures->nrows == 0) {
        fputs("No failures reported.\n", fp);
    } else {
        struct rpt_table shown = *d->failures;
        if (shown.nrows > RPT_DIGEST_MAX_ROWS)
            shown.nrows = RPT_DIGEST_MAX_ROWS;
        add_table(fp, &shown);
        if (d->failures->nrows > shown.nrows)
            fprintf(fp, "... and %zu more rows (tlsrpt-report summary --by type,org,mx).\n",
                    d->failures->nrows - shown.nrows);
    }

    fputs("\nNew since the previous period\n\n", fp);
    fputs("Failure types: ", fp);
    for (size_t r = 0; r < d->new_types->nrows; r++) {
        fputs(r ? ", " : "", fp);
        add_text(fp, rpt_table_cell(d->new_types, r, 0)->s);
    }
    fputs(d->new_types->nrows ? "\n" : "none\n", fp);
    fputs("MX hosts with failures: ", fp);
    for (size_t r = 0; r < d->new_mx->nrows; r++) {
        fputs(r ? ", " : "", fp);
        add_text(fp, rpt_table_cell(d->new_mx, r, 0)->s);
    }
    fputs(d->new_mx->nrows ? "\n" : "none\n", fp);

    fputs("\nReporters gone silent (reported in the previous period, not in this one)\n\n", fp);
    if (d->silent->nrows == 0)
        fputs("None.\n", fp);
    else
        add_table(fp, d->silent);

    fputs("\nPolicies reported\n", fp);
    if (d->policies->nrows == 0)
        fputs("\nNone.\n", fp);
    for (size_t r = 0; r < d->policies->nrows; r++) {
        const struct rpt_cell *lines = rpt_table_cell(d->policies, r, 2);
        fputs("\n", fp);
        add_text(fp, rpt_table_cell(d->policies, r, 0)->s);
        fputs(" ", fp);
        add_text(fp, rpt_table_cell(d->policies, r, 1)->s);
        fprintf(fp, ", %s report%s from ", rpt_fmt_count(rpt_table_cell(d->policies, r, 3)->i, n1),
                rpt_table_cell(d->policies, r, 3)->i == 1 ? "" : "s");
        add_text(fp, rpt_table_cell(d->policies, r, 4)->s);
        fputs(":\n", fp);
        if (lines->kind == RPT_TEXT) {
            char *copy = xstrdup(lines->s), *save = NULL;
            for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                fputs("    ", fp);
                add_text(fp, l);
                fputs("\n", fp);
            }
            free(copy);
        } else {
            fputs("    (no policy string)\n", fp);
        }
    }
    fputs("\n-- \ntlsrpt-report " TLSRPT_VERSION "\n", fp);
    fclose(fp);
    free(subject);
    return buf;
}
