/*
 * findings_fail.c - the findings about failure counts: the window's
 * failure details grouped by (policy domain, MX, failure type) with their
 * days, organizations and reason codes; then the failure rate of a domain
 * and of an MX host, failing MX hosts outside the policy, and failure
 * types and MX hosts new since the previous window.  The diagnosis per
 * failure type is findings_diag.c's.
 *
 * Counts come from rpt_q_sessions() and rpt_q_failed() (the rollups), as
 * summary's do; the reason codes from the raw rows of the window with the
 * same dedup rule (query.h).
 */
#include "findings_int.h"
#include "sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- failure groups
 *
 * A group is one (policy domain, MX, failure type) of the window's failure
 * details: its failed sessions, days, organizations and reason codes.  The
 * rules below read the groups and the domains' session counts. */

static struct fgroup *group_get(struct fgroups *g, const char *dom, const char *mx, const char *ty, int create)
{
    char *k = fmap_key3(dom, mx, ty);
    size_t i = fmap_get(&g->map, k);
    struct fgroup *x = NULL;
    if (i != (size_t)-1) {
        x = &g->v[i];
    } else if (create) {
        if (g->n == g->alloc) {
            g->alloc = g->alloc ? 2 * g->alloc : 64;
            g->v = xrealloc(g->v, g->alloc * sizeof *g->v);
        }
        x = &g->v[g->n];
        memset(x, 0, sizeof *x);
        x->dom = xstrdup(dom);
        x->mx = xstrdup(mx);
        x->ty = xstrdup(ty);
        x->first = x->last = x->since = -1;
        fmap_put(&g->map, k, g->n++);
    }
    free(k);
    return x;
}

static void groups_free(struct fgroups *g)
{
    for (size_t i = 0; i < g->n; i++) {
        struct fgroup *x = &g->v[i];
        free(x->dom);
        free(x->mx);
        free(x->ty);
        fnames_free(&x->orgs);
        for (size_t j = 0; j < x->n_rc; j++)
            free(x->rc[j].rc);
        free(x->rc);
    }
    free(g->v);
    fmap_free(&g->map);
    fmap_free(&g->prev);
}

/* The window's reason codes per (domain, MX, type, code), from the raw
 * rows with the dedup rule of query.h: per policy summed by detail
 * identity, the maximum over the policies of one (report, policy domain),
 * then summed.  Only rows with a reason code. */
static int load_reasons(struct fb *b, struct fgroups *g, struct tr_err *err)
{
    const struct rpt_scope *s = &b->win;
    struct rpt_table *t = rpt_table_new();
    struct rpt_sql q;
    int rc;

    for (int i = 0; i < 7; i++)
        rpt_table_add_col(t, "c", RPT_S_TEXT);
    rpt_sql_init(&q);
    rpt_sql_add(&q,
        "SELECT coalesce(pd, '(none)'),"
        " CASE WHEN mxh <> '' THEN mxh WHEN rip <> '' THEN '[' || rip || ']' ELSE '(none)' END,"
        " ty, rc, SUM(n), MIN(st), MAX(st) FROM ("
        "  SELECT rid, pd, ty, sip, mxh, rip, rc, MAX(s) AS n, st FROM ("
        "   SELECT r.id AS rid, r.start_time - ((r.start_time % 86400) + 86400) % 86400 AS st,"
        "    p.id AS pid, p.policy_domain AS pd, f.result_type AS ty, f.sending_mta_ip AS sip,"
        "    f.receiving_mx_hostname AS mxh, f.receiving_ip AS rip, f.failure_reason_code AS rc,"
        "    SUM(f.failed_sessions) AS s"
        "   FROM report r JOIN policy p ON p.report = r.id JOIN failure f ON f.policy = p.id"
        "   WHERE r.start_time >= ? AND r.start_time < ? AND f.failure_reason_code <> ''");
    rpt_sql_bind_int(&q, s->since);
    rpt_sql_bind_int(&q, s->until);
    rpt_sql_filter(&q, "p.policy_domain", &s->f->domain);
    rpt_sql_filter(&q, "r.org_name", &s->f->org);
    rpt_sql_filter(&q, "CASE WHEN f.receiving_mx_hostname <> '' THEN f.receiving_mx_hostname"
                       " WHEN f.receiving_ip <> '' THEN '[' || f.receiving_ip || ']' ELSE '(none)' END",
                   &s->f->mx);
    rpt_sql_filter(&q, "f.result_type", &s->f->type);
    if (s->f->received_since != 0) {
        rpt_sql_add(&q, " AND r.received_time >= ?");
        rpt_sql_bind_int(&q, s->f->received_since);
    }
    rpt_sql_add(&q,
        "   GROUP BY p.id, f.result_type, f.sending_mta_ip, f.receiving_mx_hostname, f.receiving_ip,"
        "    f.failure_reason_code)"
        "  GROUP BY rid, pd, ty, sip, mxh, rip, rc)"
        " GROUP BY 1, 2, 3, 4");
    rc = rpt_sql_run(b->db, &q, t, err);
    rpt_sql_free(&q);
    for (size_t r = 0; rc == 0 && r < t->nrows; r++) {
        struct fgroup *x = group_get(g, fb_cell_text(t, r, 0), fb_cell_text(t, r, 1), fb_cell_text(t, r, 2), 0);
        struct freason *e;
        if (x == NULL)
            continue;
        if (x->n_rc == x->alloc_rc) {
            x->alloc_rc = x->alloc_rc ? 2 * x->alloc_rc : 4;
            x->rc = xrealloc(x->rc, x->alloc_rc * sizeof *x->rc);
        }
        e = &x->rc[x->n_rc++];
        e->rc = xstrdup(fb_cell_text(t, r, 3));
        e->failed = fb_cell_int(t, r, 4);
        e->first = fb_cell_int(t, r, 5);
        e->last = fb_cell_int(t, r, 6);
    }
    rpt_table_free(t);
    return rc;
}

/* The window's groups with their days and organizations, and which
 * existed in the previous window; the domains' session counts. */
static int load_groups(struct fb *b, struct fgroups *g, struct tr_err *err)
{
    static const enum rpt_key k_dmt[] = {RPT_K_DOMAIN, RPT_K_MX, RPT_K_TYPE};
    static const enum rpt_key k_dmtd[] = {RPT_K_DOMAIN, RPT_K_MX, RPT_K_TYPE, RPT_K_DAY};
    static const enum rpt_key k_dmto[] = {RPT_K_DOMAIN, RPT_K_MX, RPT_K_TYPE, RPT_K_ORG};
    static const enum rpt_key k_d[] = {RPT_K_DOMAIN};
    struct rpt_table *t[6];
    struct rpt_scope both = b->win;
    int rc = 0;

    both.since = b->prev.since;

    for (int i = 0; i < 6; i++)
        t[i] = rpt_table_new();
    if (rpt_q_sessions(b->db, &b->win, k_d, 1, t[0], err) < 0 ||
        rpt_q_sessions(b->db, &b->prev, k_d, 1, t[1], err) < 0 ||
        rpt_q_failed(b->db, &b->win, k_dmt, 3, t[2], err) < 0 ||
        rpt_q_failed(b->db, &both, k_dmtd, 4, t[3], err) < 0 ||
        rpt_q_failed(b->db, &b->win, k_dmto, 4, t[4], err) < 0 ||
        rpt_q_failed(b->db, &b->prev, k_dmt, 3, t[5], err) < 0) {
        rc = -1;
        goto done;
    }
    for (size_t r = 0; r < t[0]->nrows; r++) {
        struct fdomain *d = fb_domain(b, fb_cell_text(t[0], r, 0));
        d->reports = fb_cell_int(t[0], r, 1);
        d->ok = fb_cell_int(t[0], r, 2);
        d->bad = fb_cell_int(t[0], r, 3);
    }
    for (size_t r = 0; r < t[1]->nrows; r++)
        fb_domain(b, fb_cell_text(t[1], r, 0))->prev_sessions = fb_cell_int(t[1], r, 2) + fb_cell_int(t[1], r, 3);
    for (size_t r = 0; r < t[2]->nrows; r++) {
        struct fgroup *x = group_get(g, fb_cell_text(t[2], r, 0), fb_cell_text(t[2], r, 1), fb_cell_text(t[2], r, 2), 1);
        struct fdomain *d = fb_domain(b, x->dom);
        x->failed = fb_cell_int(t[2], r, 3);
        d->failed_detail += x->failed;
        fnames_addn(&d->mxs, x->mx, x->failed);
        fnames_add(&d->types, x->ty);
    }
    for (size_t r = 0; r < t[3]->nrows; r++) {
        struct fgroup *x = group_get(g, fb_cell_text(t[3], r, 0), fb_cell_text(t[3], r, 1), fb_cell_text(t[3], r, 2), 0);
        int64_t day = fb_cell_int(t[3], r, 3), last = -1;
        if (x == NULL || fb_cell_int(t[3], r, 4) <= 0)
            continue;
        fb_widen(&x->since, &last, day);
        if (day >= b->win.since) {
            struct fdomain *d = fb_domain(b, x->dom);
            fb_widen(&x->first, &x->last, day);
            fb_widen(&d->first, &d->last, day);
        }
    }
    for (size_t r = 0; r < t[4]->nrows; r++) {
        struct fgroup *x = group_get(g, fb_cell_text(t[4], r, 0), fb_cell_text(t[4], r, 1), fb_cell_text(t[4], r, 2), 0);
        if (x != NULL && fb_cell_int(t[4], r, 4) > 0) {
            fnames_add(&x->orgs, fb_cell_text(t[4], r, 3));
            fnames_add(&fb_domain(b, x->dom)->orgs, fb_cell_text(t[4], r, 3));
        }
    }
    for (size_t r = 0; r < t[5]->nrows; r++) {
        struct fgroup *x = group_get(g, fb_cell_text(t[5], r, 0), fb_cell_text(t[5], r, 1), fb_cell_text(t[5], r, 2), 0);
        char *k;
        if (fb_cell_int(t[5], r, 3) <= 0)
            continue;
        if (x != NULL)
            x->in_prev = 1;
        k = fmap_key3(fb_cell_text(t[5], r, 0), fb_cell_text(t[5], r, 1), "");
        fmap_put(&g->prev, k, 1);
        free(k);
        k = fmap_key3(fb_cell_text(t[5], r, 0), "", fb_cell_text(t[5], r, 2));
        fmap_put(&g->prev, k, 1);
        free(k);
    }
    rc = load_reasons(b, g, err);
done:
    for (int i = 0; i < 6; i++)
        rpt_table_free(t[i]);
    return rc;
}

/* domain-failure-rate and mx-failure-rate. */
static void rule_domain_rate(struct fb *b)
{
    for (size_t i = 0; i < b->n_dom; i++) {
        struct fdomain *d = &b->dom[i];
        int64_t sessions = d->ok + d->bad;
        double rate = fb_pct(d->bad, sessions);
        enum rpt_severity sev = fb_rate_severity(b, rate);
        struct rpt_finding *x;
        if (sessions <= 0 || d->bad <= 0 || sev == RPT_SEV_NONE)
            continue;
        x = fb_add(b, "domain-failure-rate", sev, d->name);
        fb_set_numbers(x, d->bad, sessions);
        x->mx = d->mxs.n == 1 && d->mxs.v[0][0] != '(' ? xstrdup(d->mxs.v[0]) : NULL;
        x->type = d->types.n == 1 ? xstrdup(d->types.v[0]) : NULL;
        x->orgs = fnames_join(&d->orgs, ", ");
        x->first_day = d->first;
        x->last_day = d->last;
        {
            char *ty = fnames_join(&d->types, ", "), *mx = fnames_join(&d->mxs, ", ");
            x->evidence = xasprintf("%.2f%% of %lld sessions in %lld reports failed; failure types: %s; MX hosts: "
                                    "%s.", rate, (long long)sessions, (long long)d->reports,
                                    ty ? ty : "none detailed", mx ? mx : "none named");
            free(ty);
            free(mx);
        }
        x->meaning = xasprintf("At least %.2f%% of the TLS sessions senders made to this domain failed.",
                               sev == RPT_SEV_CRITICAL ? b->fo->crit_rate : b->fo->warn_rate);
        x->fix = xstrdup("Fix the failure types listed for this domain (their findings say how), starting with "
                         "the largest.");
    }
}

/* by_mx: per (domain, MX), else per (domain, type); in_prev from the
 * previous window's (domain, MX) or (domain, type) keys. */
static void aggregate(const struct fgroups *g, int by_mx, struct faggs *out)
{
    struct fmap m = {0};
    out->v = xcalloc(g->n ? g->n : 1, sizeof *out->v);
    out->n = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct fgroup *x = &g->v[i];
        const char *key = by_mx ? x->mx : x->ty;
        char *k = fmap_key3(x->dom, by_mx ? x->mx : "", by_mx ? "" : x->ty);
        size_t j = fmap_get(&m, k);
        struct fagg *a;
        if (j == (size_t)-1) {
            j = out->n++;
            a = &out->v[j];
            a->dom = x->dom;
            a->key = key;
            a->first = a->last = a->since = -1;
            a->in_prev = fmap_get(&g->prev, k) != (size_t)-1;
            fmap_put(&m, k, j);
        }
        a = &out->v[j];
        free(k);
        a->failed += x->failed;
        if (x->first >= 0) {
            fb_widen(&a->first, &a->last, x->first);
            fb_widen(&a->first, &a->last, x->last);
        }
        if (x->since >= 0 && (a->since < 0 || x->since < a->since))
            a->since = x->since;
        for (size_t o = 0; o < x->orgs.n; o++)
            fnames_add(&a->orgs, x->orgs.v[o]);
        fnames_add(&a->names, by_mx ? x->ty : x->mx);
    }
    fmap_free(&m);
}

static void aggs_free(struct faggs *a)
{
    for (size_t i = 0; i < a->n; i++) {
        fnames_free(&a->v[i].orgs);
        fnames_free(&a->v[i].names);
    }
    free(a->v);
}

/* mx-failure-rate: when a domain's failures are spread over several MX
 * hosts, each host's failed sessions over the domain's sessions (reports
 * carry no session counts per MX). */
static void rule_mx_rate(struct fb *b, const struct faggs *per_mx)
{
    for (size_t i = 0; i < per_mx->n; i++) {
        const struct fagg *a = &per_mx->v[i];
        struct fdomain *d = fb_domain(b, a->dom);
        int64_t sessions = d->ok + d->bad;
        enum rpt_severity sev = fb_rate_severity(b, fb_pct(a->failed, sessions));
        struct rpt_finding *x;
        char *ty;
        if (d->mxs.n < 2 || sessions <= 0 || a->failed <= 0 || sev == RPT_SEV_NONE)
            continue;
        x = fb_add(b, "mx-failure-rate", sev, d->name);
        ty = fnames_join(&a->names, ", ");
        x->mx = xstrdup(a->key);
        fb_set_numbers(x, a->failed, sessions);
        x->orgs = fnames_join(&a->orgs, ", ");
        x->type = a->names.n == 1 ? xstrdup(a->names.v[0]) : NULL;
        x->first_day = a->first;
        x->last_day = a->last;
        x->evidence = xasprintf("%lld failed sessions at this MX, %.2f%% of the domain's %lld sessions "
                                "(%zu MX hosts had failures); failure types: %s.", (long long)a->failed, x->rate,
                                (long long)sessions, d->mxs.n, ty ? ty : "");
        x->meaning = xstrdup("This MX host alone accounts for a failure rate over the threshold.");
        x->fix = fb_fix_text("Fix %s first (its failure-type findings say how), or take it out of the MX records "
                         "until it is fixed.", a->key);
        free(ty);
    }
}

/* mx-not-in-policy: a failing MX host that no mx pattern of the policies
 * senders saw matches; critical when one of them was mode enforce (senders
 * then do not deliver to it). */
static void rule_mx_not_in_policy(struct fb *b, const struct faggs *per_mx)
{
    for (size_t i = 0; i < per_mx->n; i++) {
        const struct fagg *a = &per_mx->v[i];
        struct fdomain *d = fb_domain(b, a->dom);
        struct fnames pl = {0};
        struct rpt_finding *x;
        int enforce = 0;
        char *pats;
        if (a->failed <= 0 || !fr_is_host(a->key) || fr_mx_in_policies(d, a->key) != 0)
            continue;
        for (size_t v = 0; v < d->n_pol; v++) {
            enforce |= strcmp(d->pol[v].mode, "enforce") == 0;
            for (size_t k = 0; k < d->pol[v].n_mx; k++)
                fnames_add(&pl, d->pol[v].mx[k]);
        }
        pats = fnames_join(&pl, ", ");
        x = fb_add(b, "mx-not-in-policy", enforce ? RPT_SEV_CRITICAL : RPT_SEV_WARNING, d->name);
        x->mx = xstrdup(a->key);
        fb_set_numbers(x, a->failed, d->ok + d->bad);
        x->orgs = fnames_join(&a->orgs, ", ");
        x->type = a->names.n == 1 ? xstrdup(a->names.v[0]) : NULL;
        x->first_day = a->first;
        x->last_day = a->last;
        x->policies = fr_versions_text(d);
        x->evidence = xasprintf("%lld failed sessions at %s, which matches none of the mx patterns senders saw "
                                "(%s)%s.", (long long)a->failed, a->key, pats ? pats : "",
                                enforce ? "; under mode enforce senders do not deliver to it" : "");
        x->meaning = xstrdup("The MTA-STS policy does not list this MX: the policy was not updated after an MX "
                             "change, or the MX record points at a host that should not receive mail.");
        x->fix = xasprintf("Add an mx line matching %s to the policy of mta-sts.%s (or remove the MX record) "
                           "and change the id of the _mta-sts TXT record.", a->key, d->name);
        free(pats);
        fnames_free(&pl);
    }
}

/* new-failure-type and new-failing-mx: in the window, not in the previous
 * one, for a domain that had sessions then (else there is nothing to
 * compare with). */
static void rule_new(struct fb *b, const struct faggs *per_mx, const struct faggs *per_type)
{
    for (int pass = 0; pass < 2; pass++) {
        const struct faggs *v = pass ? per_type : per_mx;
        for (size_t i = 0; i < v->n; i++) {
            const struct fagg *a = &v->v[i];
            struct fdomain *d = fb_domain(b, a->dom);
            struct rpt_finding *x;
            char *names;
            if (a->in_prev || a->failed <= 0 || d->prev_sessions <= 0)
                continue;
            x = fb_add(b, pass ? "new-failure-type" : "new-failing-mx", RPT_SEV_WARNING, a->dom);
            names = fnames_join(&a->names, ", ");
            if (pass) {
                x->type = xstrdup(a->key);
                x->mx = a->names.n == 1 ? xstrdup(a->names.v[0]) : NULL;
            } else {
                x->mx = xstrdup(a->key);
                x->type = a->names.n == 1 ? xstrdup(a->names.v[0]) : NULL;
            }
            fb_set_numbers(x, a->failed, d->ok + d->bad);
            x->orgs = fnames_join(&a->orgs, ", ");
            x->first_day = a->first;
            x->last_day = a->last;
            x->evidence = xasprintf("%lld failed sessions in the window; none in the previous %lld days, which "
                                    "had %lld sessions; %s: %s.", (long long)a->failed,
                                    (long long)((b->win.until - b->win.since + 86399) / 86400),
                                    (long long)d->prev_sessions, pass ? "MX hosts" : "failure types",
                                    names ? names : "");
            x->meaning = xstrdup(pass ? "A kind of failure that did not occur in the previous period started: "
                                        "something changed (a certificate, the MX, the policy)."
                                      : "An MX host that had no failures in the previous period fails now: a new "
                                        "or changed MX.");
            x->fix = xstrdup(pass ? "Look at what changed around the first day (certificate renewals, MX or "
                                    "policy edits); its failure-type finding says what to fix."
                                  : "Check what changed on this MX around the first day; its failure-type "
                                    "findings say what to fix.");
            free(names);
        }
    }
}


int ff_failure_rules(struct fb *b, struct tr_err *err)
{
    struct fgroups g = {0};
    struct faggs per_mx = {0}, per_type = {0};
    int rc = load_groups(b, &g, err);

    if (rc == 0) {
        aggregate(&g, 1, &per_mx);
        aggregate(&g, 0, &per_type);
        rule_domain_rate(b);
        rule_mx_rate(b, &per_mx);
        fd_diagnoses(b, &g, &per_type);
        rule_new(b, &per_mx, &per_type);
        rule_mx_not_in_policy(b, &per_mx);
    }
    groups_free(&g);
    aggs_free(&per_mx);
    aggs_free(&per_type);
    return rc;
}
