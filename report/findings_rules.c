/*
 * findings_rules.c - the findings about what the policy strings senders
 * reported say: policy drift, patterns no failing MX matched (beside
 * findings_fail.c's MX hosts outside the policy), the mode, no-policy-found
 * from some senders.  Rules and codes in tlsrpt-report(1), FINDINGS; the
 * shared state in findings_int.h; reporters and the capture pipeline are
 * findings_capture.c's.
 *
 * The policy strings are read from the raw policy rows of the window
 * (the rollups do not keep them) in one plain pass (dashpol.c's
 * rpt_pol_rows_read, as the dashboard reads them) and grouped here by
 * (domain, policy type, policy strings, organization) in the order SQL's
 * GROUP BY gave them: cheaper than grouping in SQL with COUNT(DISTINCT).
 */
#include "dashpol.h"
#include "findings_int.h"
#include "sql.h"
#include "stspol.h"
#include "tlsrpt/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Policy versions kept per domain (a hostile database could report a
 * different policy in every report); the rest are counted only. */
#define FIND_POLICY_VERSIONS 16

/* ---------------------------------------------------------------- policies */

void fr_free_policies(struct fdomain *d)
{
    for (size_t i = 0; i < d->n_pol; i++) {
        free(d->pol[i].text);
        for (size_t m = 0; m < d->pol[i].n_mx; m++)
            free(d->pol[i].mx[m]);
        fnames_free(&d->pol[i].orgs);
    }
    free(d->pol);
    d->pol = NULL;
    d->n_pol = 0;
}

/* The policy strings (a JSON array) as "a; b; c", or NULL when absent or
 * not an array of strings.  *lines gets them joined by '\n' for the parser.
 * Caller owns both. */
static char *policy_text(const char *json, char **lines)
{
    json_t *a = json_loads(json, JSON_DECODE_ANY, NULL);
    struct tr_buf semi, nl;
    char *out;

    *lines = NULL;
    if (!json_is_array(a) || json_array_size(a) == 0) {
        json_decref(a);
        return NULL;
    }
    tr_buf_init(&semi, FIND_TEXT_MAX);
    tr_buf_init(&nl, FIND_TEXT_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s == NULL)
            continue;
        if (semi.len > 0) {
            tr_buf_append(&semi, "; ", 2);
            tr_buf_append(&nl, "\n", 1);
        }
        tr_buf_append(&semi, s, strlen(s));
        tr_buf_append(&nl, s, strlen(s));
    }
    json_decref(a);
    *lines = fb_buf_text(&nl);
    out = fb_buf_text(&semi);
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The version of d matching the parsed policy p (same mode, max_age and
 * set of mx patterns), added when new; NULL past FIND_POLICY_VERSIONS. */
static struct fpolicy *version_of(struct fdomain *d, struct stspol *p, const char *text)
{
    char *mx[STSPOL_MX_MAX];
    size_t n = p->n_mx;

    memcpy(mx, p->mx, n * sizeof *mx);
    qsort(mx, n, sizeof *mx, cmp_str);
    for (size_t i = 0; i < d->n_pol; i++) {
        struct fpolicy *v = &d->pol[i];
        int same = strcmp(v->mode, p->mode) == 0 && v->max_age == p->max_age && v->n_mx == n;
        for (size_t m = 0; same && m < n; m++)
            same = strcasecmp(v->mx[m], mx[m]) == 0;
        if (same)
            return v;
    }
    if (d->n_pol == FIND_POLICY_VERSIONS)
        return NULL;
    d->pol = xrealloc(d->pol, (d->n_pol + 1) * sizeof *d->pol);
    {
        struct fpolicy *v = &d->pol[d->n_pol++];
        memset(v, 0, sizeof *v);
        v->text = xstrdup(text);
        snprintf(v->mode, sizeof v->mode, "%s", p->mode);
        v->max_age = p->max_age;
        for (size_t m = 0; m < n && m < sizeof v->mx / sizeof v->mx[0]; m++)
            v->mx[v->n_mx++] = xstrdup(mx[m]);
        v->first = v->last = -1;
        return v;
    }
}

/* The grouping of the policy rows: (domain, type, policy strings,
 * organization) as SQLite's GROUP BY orders them (BINARY collation; a
 * policy_strings BLOB after every TEXT), then report. */
static int cmp_polrow(const void *a, const void *b)
{
    const struct rpt_polrow *x = a, *y = b;
    int c = rpt_bytes_cmp(&x->dom, &y->dom);
    if (c == 0)
        c = rpt_bytes_cmp(&x->type, &y->type);
    if (c == 0 && x->strings.s != NULL && y->strings.s != NULL)
        c = x->strings_blob - y->strings_blob;
    if (c == 0)
        c = rpt_bytes_cmp(&x->strings, &y->strings);
    if (c == 0)
        c = rpt_bytes_cmp(&x->org, &y->org);
    if (c == 0)
        c = (x->report > y->report) - (x->report < y->report);
    return c;
}

/* Same (domain, type, policy strings): one policy of a domain. */
static int same_policy(const struct rpt_polrow *x, const struct rpt_polrow *y)
{
    return rpt_bytes_cmp(&x->dom, &y->dom) == 0 && rpt_bytes_cmp(&x->type, &y->type) == 0 &&
           (x->strings.s == NULL || y->strings.s == NULL || x->strings_blob == y->strings_blob) &&
           rpt_bytes_cmp(&x->strings, &y->strings) == 0;
}

static int same_group(const struct rpt_polrow *x, const struct rpt_polrow *y)
{
    return same_policy(x, y) && rpt_bytes_cmp(&x->org, &y->org) == 0;
}

static int64_t day_of(int64_t t)
{
    return t - ((t % 86400) + 86400) % 86400;
}

/* One group of policy rows: distinct reports, first and last day,
 * sessions (SQL's SUM: NULL ignored, an overflow an error). */
struct polgroup {
    int64_t reports, first, last, sessions;
};

static int sum_group(const struct rpt_polrow *rows, size_t lo, size_t hi, struct polgroup *g, struct tr_err *err)
{
    g->reports = 0;
    g->sessions = 0;
    g->first = g->last = day_of(rows[lo].start);
    for (size_t i = lo; i < hi; i++) {
        int64_t day = day_of(rows[i].start);
        if (i == lo || rows[i].report != rows[i - 1].report)
            g->reports++;
        if (day < g->first)
            g->first = day;
        if (day > g->last)
            g->last = day;
        if (!rows[i].sessions_null && __builtin_add_overflow(g->sessions, rows[i].sessions, &g->sessions)) {
            tr_err_set(err, TR_E_DB, "integer overflow");
            return -1;
        }
    }
    return 0;
}

/* The version of d an "sts" policy's strings (row's) stand for; NULL when
 * they are no array of strings or past FIND_POLICY_VERSIONS. */
static struct fpolicy *sts_version(struct fdomain *d, const struct rpt_polrow *row)
{
    char *lines = NULL, *text = policy_text(row->strings.s ? row->strings.s : "", &lines);
    struct stspol p;
    struct fpolicy *v;

    if (text == NULL)
        return NULL;
    stspol_parse(lines, strlen(lines), &p);
    v = version_of(d, &p, text);
    stspol_free(&p);
    free(text);
    free(lines);
    return v;
}

/* The window's policy rows (rpt_pol_rows_read, dashpol.c), grouped in C
 * by (domain, type, policy strings, organization) in GROUP BY's order.
 * The strings of a policy are parsed once for all its organizations
 * (their groups follow each other). */
int fr_load_policies(struct fb *b, struct tr_err *err)
{
    struct rpt_polrow *rows = NULL;
    size_t nrows = 0, hi;
    const struct rpt_polrow *parsed = NULL; /* the last "sts" policy parsed */
    struct fpolicy *v = NULL;               /* its version */
    int rc = rpt_pol_rows_read(b->db, &b->win, NULL, 0, &rows, &nrows, err);

    if (rc == 0)
        qsort(rows, nrows, sizeof *rows, cmp_polrow);
    for (size_t lo = 0; rc == 0 && lo < nrows; lo = hi) {
        const struct rpt_polrow *row = &rows[lo];
        struct fdomain *d;
        const char *type = row->type.s ? row->type.s : "", *org = row->org.s ? row->org.s : "";
        struct polgroup g;

        for (hi = lo + 1; hi < nrows && same_group(&rows[hi], row); hi++)
            ;
        if (sum_group(rows, lo, hi, &g, err) < 0) {
            rc = -1;
            break;
        }
        d = fb_domain(b, row->dom.s ? row->dom.s : "");
        if (strcmp(type, "no-policy-found") == 0) {
            fnames_add(&d->no_policy_orgs, org);
            d->no_policy_sessions += g.sessions;
            if (d->np_first < 0 || g.first < d->np_first)
                d->np_first = g.first;
            if (g.last > d->np_last)
                d->np_last = g.last;
            continue;
        }
        if (strcmp(type, "sts") != 0)
            continue;
        fnames_add(&d->sts_orgs, org);
        if (parsed == NULL || !same_policy(row, parsed)) {
            parsed = row;
            v = sts_version(d, row);
        }
        if (v != NULL) {
            v->reports += g.reports;
            fnames_add(&v->orgs, org);
            if (v->first < 0 || g.first < v->first)
                v->first = g.first;
            if (v->last < 0 || g.last > v->last)
                v->last = g.last;
        }
    }
    rpt_pol_rows_free(rows, nrows);
    return rc;
}

int fr_is_host(const char *h)
{
    return h[0] != '[' && h[0] != '(' && h[0] != '\0';
}

int fr_mx_in_policies(const struct fdomain *d, const char *host)
{
    int any = 0;
    for (size_t i = 0; i < d->n_pol; i++)
        for (size_t m = 0; m < d->pol[i].n_mx; m++) {
            any = 1;
            if (stspol_mx_match(d->pol[i].mx[m], host))
                return 1;
        }
    return any ? 0 : -1;
}

/* The version senders saw last (latest last day, then latest first day). */
static const struct fpolicy *newest(const struct fdomain *d)
{
    const struct fpolicy *n = NULL;
    for (size_t i = 0; i < d->n_pol; i++) {
        const struct fpolicy *v = &d->pol[i];
        if (n == NULL || v->last > n->last || (v->last == n->last && v->first > n->first))
            n = v;
    }
    return n;
}

static int same_mx(const struct fpolicy *a, const struct fpolicy *b)
{
    if (a->n_mx != b->n_mx)
        return 0;
    for (size_t m = 0; m < a->n_mx; m++)
        if (strcasecmp(a->mx[m], b->mx[m]) != 0)
            return 0;
    return 1;
}

/* The versions, one a line ("version: STSv1; mode: ...").  Caller owns it. */
char *fr_versions_text(const struct fdomain *d)
{
    struct tr_buf b;
    tr_buf_init(&b, FIND_TEXT_MAX);
    for (size_t i = 0; i < d->n_pol; i++) {
        if (i > 0)
            tr_buf_append(&b, "\n", 1);
        tr_buf_append(&b, d->pol[i].text, strlen(d->pol[i].text));
    }
    return fb_buf_text(&b);
}

/* policy-drift: senders reported different policies in the window. */
static void rule_drift(struct fb *b, struct fdomain *d)
{
    const struct fpolicy *nv = newest(d);
    int mode_or_mx = 0, overlap = 0;
    long old_age = -1;
    struct fnames orgs = {0};
    struct tr_buf ev;
    struct rpt_finding *x;

    if (d->n_pol < 2)
        return;
    tr_buf_init(&ev, FIND_TEXT_MAX);
    for (size_t i = 0; i < d->n_pol; i++) {
        const struct fpolicy *v = &d->pol[i];
        char d1[RPT_LABEL_MAX], d2[RPT_LABEL_MAX], *o = fnames_join(&v->orgs, ", "), *line;
        fb_date(v->first, d1);
        fb_date(v->last, d2);
        line = xasprintf("%smode %s, max_age %ld, %zu mx pattern(s): seen by %s from %s to %s (%lld report(s))",
                         i ? "; " : "", v->mode[0] ? v->mode : "(none)", v->max_age, v->n_mx, o ? o : "",
                         d1, d2, (long long)v->reports);
        tr_buf_append(&ev, line, strlen(line));
        free(line);
        free(o);
        for (size_t k = 0; k < v->orgs.n; k++)
            fnames_add(&orgs, v->orgs.v[k]);
        if (v == nv)
            continue;
        mode_or_mx |= strcmp(v->mode, nv->mode) != 0 || !same_mx(v, nv);
        if (v->last > nv->first) {         /* the day of the change itself is no overlap */
            overlap = 1;
            if (v->max_age > old_age)
                old_age = v->max_age;
        }
    }
    tr_buf_append(&ev, ".", 1);
    x = fb_add(b, "policy-drift", mode_or_mx && overlap ? RPT_SEV_WARNING : RPT_SEV_INFO, d->name);
    x->orgs = fnames_join(&orgs, ", ");
    x->policies = fr_versions_text(d);
    x->first_day = d->pol[0].first;
    x->last_day = d->pol[0].last;
    for (size_t i = 1; i < d->n_pol; i++) {
        if (d->pol[i].first < x->first_day)
            x->first_day = d->pol[i].first;
        if (d->pol[i].last > x->last_day)
            x->last_day = d->pol[i].last;
    }
    x->evidence = fb_buf_text(&ev);
    if (!mode_or_mx) {
        x->meaning = xstrdup("Only max_age differs between the versions: senders cache a policy for its max_age, "
                             "so an older copy stays in use until it expires.");
        x->fix = xstrdup("Nothing to do if the change was intended; keep max_age at a week (604800) or more.");
    } else if (overlap) {
        x->meaning = xasprintf("Senders kept using an older policy (mode or mx list) after the newer one appeared: "
                               "a sender refetches before the cached copy's max_age (%ld s) runs out only when the "
                               "id of the _mta-sts TXT record changes, so the id was probably not changed after "
                               "the edit.", old_age);
        x->fix = xasprintf("Change the id of the _mta-sts.%s TXT record whenever the policy file changes "
                           "(v=STSv1; id=YYYYMMDDhhmm;).", d->name);
    } else {
        x->meaning = xstrdup("The policy (mode or mx list) changed in the window and senders moved to the new "
                             "version.");
        x->fix = xstrdup("Nothing to do if the change was intended.");
    }
    fnames_free(&orgs);
}

/* policy-pattern-unused: when MX hosts outside the policy failed
 * (mx-not-in-policy, findings.c), the patterns of the newest version that
 * no failing MX matched (the "MX moved, policy not updated" pitfall). */
static void rule_unused_patterns(struct fb *b, struct fdomain *d)
{
    const struct fpolicy *nv = newest(d);
    int stale = 0;

    if (nv == NULL)
        return;
    for (size_t m = 0; m < d->mxs.n && !stale; m++)
        stale = fr_is_host(d->mxs.v[m]) && fr_mx_in_policies(d, d->mxs.v[m]) == 0;
    for (size_t k = 0; stale && k < nv->n_mx; k++) {
        int used = 0;
        struct rpt_finding *x;
        for (size_t m = 0; m < d->mxs.n && !used; m++)
            used = fr_is_host(d->mxs.v[m]) && stspol_mx_match(nv->mx[k], d->mxs.v[m]);
        if (used)
            continue;
        x = fb_add(b, "policy-pattern-unused", RPT_SEV_INFO, d->name);
        x->mx = xstrdup(nv->mx[k]);
        x->policies = xstrdup(nv->text);
        x->first_day = nv->first;
        x->last_day = nv->last;
        x->evidence = xasprintf("The pattern %s of the policy senders saw last matched no MX host in the failure "
                                "details, while MX hosts outside the policy failed.", nv->mx[k]);
        x->meaning = xstrdup("A pattern of the policy may name an MX that is gone (the MX changed, the policy did "
                             "not).");
        x->fix = xstrdup("If the MX moved, replace this mx line with the new host and change the _mta-sts id.");
    }
}

/* mode-testing-ready, mode-testing-failures, mode-none, from the version
 * senders saw last; ready: no failed session for ready_days (sessions on
 * the first of those days too, so the record covers them). */
static void rule_mode(struct fb *b, struct fdomain *d, const struct rpt_table *ready, int64_t ready_since)
{
    const struct fpolicy *nv = newest(d);
    struct rpt_finding *x;

    if (nv == NULL)
        return;
    if (strcmp(nv->mode, "none") == 0) {
        x = fb_add(b, "mode-none", RPT_SEV_INFO, d->name);
        x->policies = xstrdup(nv->text);
        x->first_day = nv->first;
        x->last_day = nv->last;
        x->evidence = xasprintf("Senders saw mode none (%lld report(s)).", (long long)nv->reports);
        x->meaning = xstrdup("With mode none senders do not apply the policy at all (the way to withdraw MTA-STS).");
        x->fix = xstrdup("If MTA-STS is wanted, publish mode testing, then enforce once the reports are clean.");
        return;
    }
    if (strcmp(nv->mode, "testing") != 0)
        return;
    if (d->bad > 0) {
        x = fb_add(b, "mode-testing-failures", RPT_SEV_INFO, d->name);
        x->policies = xstrdup(nv->text);
        x->sessions = d->ok + d->bad;
        x->failed = d->bad;
        x->rate = 100.0 * (double)d->bad / (double)x->sessions;
        x->first_day = d->first;
        x->last_day = d->last;
        x->evidence = xasprintf("Mode testing, %lld of %lld sessions failed in the window.", (long long)d->bad,
                                (long long)(d->ok + d->bad));
        x->meaning = xstrdup("In mode testing failures are reported but mail is still delivered; under enforce "
                             "these sessions would not deliver.");
        x->fix = xstrdup("Fix the failures (their findings say how) before switching the policy to mode enforce.");
        return;
    }
    {
        int64_t ok = 0, bad = 0, first = -1, last = -1;
        for (size_t r = 0; r < ready->nrows; r++) {
            int64_t day = fb_cell_int(ready, r, 1);
            if (strcmp(fb_cell_text(ready, r, 0), d->name) != 0)
                continue;
            ok += fb_cell_int(ready, r, 3);
            bad += fb_cell_int(ready, r, 4);
            if (first < 0 || day < first)
                first = day;
            if (day > last)
                last = day;
        }
        if (bad > 0 || ok <= 0 || first > ready_since)
            return;
        x = fb_add(b, "mode-testing-ready", RPT_SEV_INFO, d->name);
        x->policies = xstrdup(nv->text);
        x->sessions = ok;
        x->failed = 0;
        x->rate = 0;
        x->first_day = first;
        x->last_day = last;
        x->evidence = xasprintf("Mode testing and no failed session in %lld sessions over the last %d days.",
                                (long long)ok, b->fo->ready_days);
        x->meaning = xstrdup("The domain has run MTA-STS in mode testing with a clean record: it is ready for "
                             "enforce.");
        x->fix = xasprintf("Change the policy of mta-sts.%s to mode: enforce and change the id of the _mta-sts "
                           "TXT record.", d->name);
    }
}

/* policy-not-found-by-some: some senders reported no-policy-found while
 * others saw an sts policy. */
static void rule_not_found(struct fb *b, struct fdomain *d)
{
    struct rpt_finding *x;
    char *sts;
    if (d->no_policy_orgs.n == 0 || d->sts_orgs.n == 0)
        return;
    x = fb_add(b, "policy-not-found-by-some", RPT_SEV_WARNING, d->name);
    x->orgs = fnames_join(&d->no_policy_orgs, ", ");
    x->sessions = d->no_policy_sessions;
    x->first_day = d->np_first;
    x->last_day = d->np_last;
    sts = fnames_join(&d->sts_orgs, ", ");
    x->evidence = xasprintf("%s reported no-policy-found (%lld sessions) while %s saw an MTA-STS policy.",
                            x->orgs, (long long)d->no_policy_sessions, sts);
    x->meaning = xstrdup("Some senders found no MTA-STS policy: the _mta-sts TXT record or the policy file was "
                         "not reachable for them (a name server without the record, DNS or HTTPS failures), so "
                         "their mail went without MTA-STS.");
    x->fix = xasprintf("Check that every name server of %s serves _mta-sts.%s (v=STSv1; id=...) and that "
                       "https://mta-sts.%s/.well-known/mta-sts.txt answers from everywhere (tlsrpt-report check).",
                       d->name, d->name, d->name);
    free(sts);
}

int fr_policy_rules(struct fb *b, struct tr_err *err)
{
    static const enum rpt_key k_dd[] = {RPT_K_DOMAIN, RPT_K_DAY};
    struct rpt_table *ready = rpt_table_new();
    struct rpt_scope rs = b->win;
    int64_t end = rpt_day_start(b->win.until);

    rs.until = end;
    rs.since = end - (int64_t)b->fo->ready_days * 86400;
    if (b->fo->ready_days > 0 && rpt_q_sessions(b->db, &rs, k_dd, 2, ready, err) < 0) {
        rpt_table_free(ready);
        return -1;
    }
    for (size_t i = 0; i < b->n_dom; i++) {
        struct fdomain *d = &b->dom[i];
        rule_drift(b, d);
        rule_unused_patterns(b, d);
        if (b->fo->ready_days > 0)
            rule_mode(b, d, ready, rs.since);
        rule_not_found(b, d);
    }
    rpt_table_free(ready);
    return 0;
}
