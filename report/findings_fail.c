/*
 * findings_fail.c - the findings about failure counts: the window's
 * failure details grouped by (policy domain, MX, failure type) with their
 * days, organizations and reason codes; then the failure rate of a domain
 * and of an MX host, failing MX hosts outside the policy, and failure
 * types and MX hosts new since the previous window.  The diagnosis per
 * failure type is findings_diag.c's.
 *
 * Counts come from rpt_q_sessions() and rpt_q_failed() (the rollups), as
 * summary's do; the organizations, days and reason codes from one pass
 * over the raw failure rows of the window (findings_details.c; reason
 * counts with the same dedup rule, query.h).
 */
#include "findings_int.h"
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- failure groups
 *
 * A group is one (policy domain, MX, failure type) of the window's failure
 * details: its failed sessions, days, organizations and reason codes.  The
 * rules below read the groups and the domains' session counts. */

/* Longest key looked up without an allocation (the hot path: a lookup per
 * failure row of the window). */
#define GROUP_KEY_STACK 1024

struct fgroup *ff_group_get(struct fgroups *g, const char *dom, const char *mx, const char *ty, int create)
{
    char buf[GROUP_KEY_STACK], *heap = NULL;
    const char *k = fmap_key3_buf(buf, sizeof buf, dom, mx, ty);
    struct fgroup *x = NULL;
    size_t i;
    if (k == NULL)
        k = heap = fmap_key3(dom, mx, ty);
    i = fmap_get(&g->map, k);
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
    free(heap);
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

/* The window's groups: failed sessions from the rollups (as summary
 * counts them), the rest from the raw rows (ff_load_details); which existed
 * in the previous window; since when an MX certificate has been failing as
 * expired (the previous window's days of certificate-expired); the
 * domains' session counts. */
static int load_groups(struct fb *b, struct fgroups *g, struct tr_err *err)
{
    static const enum rpt_key k_dmt[] = {RPT_K_DOMAIN, RPT_K_MX, RPT_K_TYPE};
    static const enum rpt_key k_dmtd[] = {RPT_K_DOMAIN, RPT_K_MX, RPT_K_TYPE, RPT_K_DAY};
    static const enum rpt_key k_d[] = {RPT_K_DOMAIN};
    struct rpt_table *t[5];
    struct rpt_filters expired = *b->win.f;
    struct rpt_scope prev_expired = b->prev;
    int rc = 0;

    if (expired.type.n == 0) {          /* else the user's types: those with certificate-expired matter */
        expired.type.v[0] = "certificate-expired";
        expired.type.n = 1;
    }
    prev_expired.f = &expired;
    for (int i = 0; i < 5; i++)
        t[i] = rpt_table_new();
    if (rpt_q_sessions(b->db, &b->win, k_d, 1, t[0], err) < 0 ||
        rpt_q_sessions(b->db, &b->prev, k_d, 1, t[1], err) < 0 ||
        rpt_q_failed(b->db, &b->win, k_dmt, 3, t[2], err) < 0 ||
        rpt_q_failed(b->db, &b->prev, k_dmt, 3, t[3], err) < 0 ||
        rpt_q_failed(b->db, &prev_expired, k_dmtd, 4, t[4], err) < 0) {
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
        struct fgroup *x = ff_group_get(g, fb_cell_text(t[2], r, 0), fb_cell_text(t[2], r, 1), fb_cell_text(t[2], r, 2), 1);
        struct fdomain *d = fb_domain(b, x->dom);
        x->dom_idx = (size_t)(d - b->dom);
        x->failed = fb_cell_int(t[2], r, 3);
        d->failed_detail += x->failed;
        fnames_addn(&d->mxs, x->mx, x->failed);
        fnames_add(&d->types, x->ty);
    }
    for (size_t r = 0; r < t[3]->nrows; r++) {
        struct fgroup *x = ff_group_get(g, fb_cell_text(t[3], r, 0), fb_cell_text(t[3], r, 1), fb_cell_text(t[3], r, 2), 0);
        char *k;
        if (fb_cell_int(t[3], r, 3) <= 0)
            continue;
        if (x != NULL)
            x->in_prev = 1;
        k = fmap_key3(fb_cell_text(t[3], r, 0), fb_cell_text(t[3], r, 1), "");
        fmap_put(&g->prev, k, 1);
        free(k);
        k = fmap_key3(fb_cell_text(t[3], r, 0), "", fb_cell_text(t[3], r, 2));
        fmap_put(&g->prev, k, 1);
        free(k);
    }
    if ((rc = ff_load_details(b, g, err)) < 0)
        goto done;
    for (size_t i = 0; i < g->n; i++)
        g->v[i].since = g->v[i].first;
    for (size_t r = 0; r < t[4]->nrows; r++) {
        struct fgroup *x = ff_group_get(g, fb_cell_text(t[4], r, 0), fb_cell_text(t[4], r, 1), fb_cell_text(t[4], r, 2), 0);
        int64_t day = fb_cell_int(t[4], r, 3);
        if (x != NULL && fb_cell_int(t[4], r, 4) > 0 && (x->since < 0 || day < x->since))
            x->since = day;
    }
done:
    for (int i = 0; i < 5; i++)
        rpt_table_free(t[i]);
    return rc;
}

/* domain-failure-rate: the domain's failed sessions (summaries; with --mx
 * or --type those of the failure details they select) over its
 * sessions. */
static void rule_domain_rate(struct fb *b)
{
    for (size_t i = 0; i < b->n_dom; i++) {
        struct fdomain *d = &b->dom[i];
        int64_t sessions = d->ok + d->bad, failed = b->detail_filter ? d->failed_detail : d->bad;
        double rate = fb_pct(failed, sessions);
        enum rpt_severity sev = fb_rate_severity(b, rate);
        struct rpt_finding *x;
        if (sessions <= 0 || failed <= 0 || sev == RPT_SEV_NONE)
            continue;
        x = fb_add(b, "domain-failure-rate", sev, d->name);
        fb_set_numbers(x, failed, sessions);
        x->mx = d->mxs.n == 1 && d->mxs.v[0][0] != '(' ? xstrdup(d->mxs.v[0]) : NULL;
        x->type = d->types.n == 1 ? xstrdup(d->types.v[0]) : NULL;
        x->orgs = fnames_join(&d->orgs, ", ");
        x->first_day = d->first;
        x->last_day = d->last;
        {
            char *ty = fnames_join(&d->types, ", "), *mx = fnames_join(&d->mxs, ", ");
            x->evidence = xasprintf("%.2f%% of %lld sessions in %lld reports failed%s; failure types: %s; MX "
                                    "hosts: %s.", rate, (long long)sessions, (long long)d->reports,
                                    b->detail_filter ? " (by the failure details --mx and --type select)" : "",
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
        a->members = xrealloc(a->members, (a->n_members + 1) * sizeof *a->members);
        a->members[a->n_members++] = i;
    }
    fmap_free(&m);
}

static void aggs_free(struct faggs *a)
{
    for (size_t i = 0; i < a->n; i++) {
        fnames_free(&a->v[i].orgs);
        fnames_free(&a->v[i].names);
        free(a->v[i].members);
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
