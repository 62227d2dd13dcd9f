/*
 * findings.c - the findings of a window (findings.h): the build, the
 * failure rules (failure rate of a domain and of an MX host, a diagnosis
 * per failure type, failure types and MX hosts new since the previous
 * window), the order, and the table and JSON forms.  The rules about
 * policies, reporters and the capture pipeline are in findings_rules.c.
 *
 * Numbers come from the same queries as summary (rpt_q_sessions,
 * rpt_q_failed over the rollups), so they agree with it; only the reason
 * codes are read from the raw failure rows of the window, with the same
 * dedup rule (query.h).
 */
#include "findings_int.h"
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rpt_severity_name(enum rpt_severity s)
{
    switch (s) {
    case RPT_SEV_CRITICAL: return "critical";
    case RPT_SEV_WARNING: return "warning";
    case RPT_SEV_INFO: return "info";
    default: return "none";
    }
}

void rpt_find_opts_default(struct rpt_find_opts *fo)
{
    fo->crit_rate = RPT_FIND_CRIT_RATE;
    fo->warn_rate = RPT_FIND_WARN_RATE;
    fo->silent_days = RPT_FIND_SILENT_DAYS;
    fo->stopped_days = RPT_FIND_STOPPED_DAYS;
    fo->ready_days = RPT_FIND_READY_DAYS;
}

/* ---------------------------------------------------------------- lists */

/* Index of s in l (added when new), or -1 past FIND_NAMES_TRACK. */
static long fnames_index(struct fnames *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return (long)i;
    if (l->n == FIND_NAMES_TRACK) {
        l->more++;
        return -1;
    }
    if (l->n == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 8;
        l->v = xrealloc(l->v, l->alloc * sizeof *l->v);
        l->num = xrealloc(l->num, l->alloc * sizeof *l->num);
    }
    l->num[l->n] = 0;
    l->v[l->n] = xstrdup(s);
    return (long)l->n++;
}

void fnames_add(struct fnames *l, const char *s)
{
    if (s != NULL)
        (void)fnames_index(l, s);
}

void fnames_addn(struct fnames *l, const char *s, int64_t n)
{
    long i = s != NULL ? fnames_index(l, s) : -1;
    if (i >= 0)
        l->num[i] += n;
}

void fnames_free(struct fnames *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l->num);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *fnames_join(const struct fnames *l, const char *sep)
{
    struct tr_buf b;
    size_t shown = l->n < RPT_FIND_MAX_NAMES ? l->n : RPT_FIND_MAX_NAMES, len;
    char **sorted;
    char *out;

    if (l->n == 0)
        return NULL;
    /* Sorted, so that the output does not depend on the row order. */
    sorted = xmalloc(l->n * sizeof *sorted);
    memcpy(sorted, l->v, l->n * sizeof *sorted);
    qsort(sorted, l->n, sizeof *sorted, cmp_str);
    tr_buf_init(&b, FIND_TEXT_MAX);
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            tr_buf_append(&b, sep, strlen(sep));
        tr_buf_append(&b, sorted[i], strlen(sorted[i]));
    }
    if (l->n + l->more > shown) {
        char more[64];
        snprintf(more, sizeof more, " ... and %zu more", l->n + l->more - shown);
        tr_buf_append(&b, more, strlen(more));
    }
    free(sorted);
    out = (char *)tr_buf_steal(&b, &len);
    return out;
}

/* ---------------------------------------------------------------- map */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;           /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

size_t fmap_get(const struct fmap *m, const char *key)
{
    if (m->cap == 0)
        return (size_t)-1;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == NULL)
            return (size_t)-1;
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    }
}

void fmap_put(struct fmap *m, const char *key, size_t val)
{
    if (2 * (m->n + 1) > m->cap) {              /* grow: at most half full */
        struct fmap g = {0};
        g.cap = m->cap ? 2 * m->cap : 64;
        g.keys = xcalloc(g.cap, sizeof *g.keys);
        g.vals = xcalloc(g.cap, sizeof *g.vals);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i] != NULL) {
                size_t j = hash_str(m->keys[i]) & (g.cap - 1);
                while (g.keys[j] != NULL)
                    j = (j + 1) & (g.cap - 1);
                g.keys[j] = m->keys[i];
                g.vals[j] = m->vals[i];
            }
        g.n = m->n;
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == NULL) {
            m->keys[i] = xstrdup(key);
            m->vals[i] = val;
            m->n++;
            return;
        }
        if (strcmp(m->keys[i], key) == 0) {
            m->vals[i] = val;
            return;
        }
    }
}

void fmap_free(struct fmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

char *fmap_key3(const char *a, const char *b, const char *c)
{
    return xasprintf("%s\x1f%s\x1f%s", a ? a : "", b ? b : "", c ? c : "");
}

/* ---------------------------------------------------------------- build state */

struct rpt_finding *fb_add(struct fb *b, const char *code, enum rpt_severity sev, const char *domain)
{
    struct rpt_finding *x;
    if (b->f->n == b->alloc) {
        b->alloc = b->alloc ? 2 * b->alloc : 32;
        b->f->v = xrealloc(b->f->v, b->alloc * sizeof *b->f->v);
    }
    x = &b->f->v[b->f->n++];
    memset(x, 0, sizeof *x);
    x->code = code;
    x->severity = sev;
    x->domain = domain ? xstrdup(domain) : NULL;
    x->sessions = x->failed = -1;
    x->rate = -1;
    x->first_day = x->last_day = -1;
    return x;
}

struct fdomain *fb_domain(struct fb *b, const char *name)
{
    size_t i = fmap_get(&b->dom_map, name);
    struct fdomain *d;
    if (i != (size_t)-1)
        return &b->dom[i];
    if (b->n_dom == b->alloc_dom) {
        b->alloc_dom = b->alloc_dom ? 2 * b->alloc_dom : 32;
        b->dom = xrealloc(b->dom, b->alloc_dom * sizeof *b->dom);
    }
    d = &b->dom[b->n_dom];
    memset(d, 0, sizeof *d);
    d->name = xstrdup(name);
    d->first = d->last = -1;
    fmap_put(&b->dom_map, name, b->n_dom++);
    return d;
}

enum rpt_severity fb_rate_severity(const struct fb *b, double rate)
{
    if (rate >= b->fo->crit_rate)
        return RPT_SEV_CRITICAL;
    if (rate >= b->fo->warn_rate)
        return RPT_SEV_WARNING;
    return RPT_SEV_NONE;
}

static double pct(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : -1;
}

static const char *cell_text(const struct rpt_table *t, size_t r, size_t c)
{
    const struct rpt_cell *x = rpt_table_cell(t, r, c);
    return x->kind == RPT_TEXT ? x->s : "";
}

static int64_t cell_int(const struct rpt_table *t, size_t r, size_t c)
{
    const struct rpt_cell *x = rpt_table_cell(t, r, c);
    return x->kind == RPT_INT ? x->i : x->kind == RPT_REAL ? (int64_t)x->d : 0;
}

static void widen(int64_t *first, int64_t *last, int64_t day)
{
    if (*first < 0 || day < *first)
        *first = day;
    if (*last < 0 || day > *last)
        *last = day;
}

/* ---------------------------------------------------------------- failure groups
 *
 * A group is one (policy domain, MX, failure type) of the window's failure
 * details: its failed sessions, days, organizations and reason codes.  The
 * rules below read the groups and the domains' session counts. */

struct fgroup {
    char *dom, *mx, *ty;
    int64_t failed;
    int64_t first, last;          /* days in the window */
    int64_t since;                /* first day in the previous window and this one */
    struct fnames orgs;
    /* reason codes: each with its failed sessions and days */
    struct freason { char *rc; int64_t failed, first, last; } *rc;
    size_t n_rc, alloc_rc;
    int in_prev;                  /* the previous window had this group */
};

struct fgroups {
    struct fgroup *v;
    size_t n, alloc;
    struct fmap map;
    struct fmap prev;             /* (domain, MX, "") and (domain, "", type) with
                                     failures in the previous window */
};

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
        struct fgroup *x = group_get(g, cell_text(t, r, 0), cell_text(t, r, 1), cell_text(t, r, 2), 0);
        struct freason *e;
        if (x == NULL)
            continue;
        if (x->n_rc == x->alloc_rc) {
            x->alloc_rc = x->alloc_rc ? 2 * x->alloc_rc : 4;
            x->rc = xrealloc(x->rc, x->alloc_rc * sizeof *x->rc);
        }
        e = &x->rc[x->n_rc++];
        e->rc = xstrdup(cell_text(t, r, 3));
        e->failed = cell_int(t, r, 4);
        e->first = cell_int(t, r, 5);
        e->last = cell_int(t, r, 6);
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
        struct fdomain *d = fb_domain(b, cell_text(t[0], r, 0));
        d->reports = cell_int(t[0], r, 1);
        d->ok = cell_int(t[0], r, 2);
        d->bad = cell_int(t[0], r, 3);
    }
    for (size_t r = 0; r < t[1]->nrows; r++)
        fb_domain(b, cell_text(t[1], r, 0))->prev_sessions = cell_int(t[1], r, 2) + cell_int(t[1], r, 3);
    for (size_t r = 0; r < t[2]->nrows; r++) {
        struct fgroup *x = group_get(g, cell_text(t[2], r, 0), cell_text(t[2], r, 1), cell_text(t[2], r, 2), 1);
        struct fdomain *d = fb_domain(b, x->dom);
        x->failed = cell_int(t[2], r, 3);
        d->failed_detail += x->failed;
        fnames_addn(&d->mxs, x->mx, x->failed);
        fnames_add(&d->types, x->ty);
    }
    for (size_t r = 0; r < t[3]->nrows; r++) {
        struct fgroup *x = group_get(g, cell_text(t[3], r, 0), cell_text(t[3], r, 1), cell_text(t[3], r, 2), 0);
        int64_t day = cell_int(t[3], r, 3), last = -1;
        if (x == NULL || cell_int(t[3], r, 4) <= 0)
            continue;
        widen(&x->since, &last, day);
        if (day >= b->win.since) {
            struct fdomain *d = fb_domain(b, x->dom);
            widen(&x->first, &x->last, day);
            widen(&d->first, &d->last, day);
        }
    }
    for (size_t r = 0; r < t[4]->nrows; r++) {
        struct fgroup *x = group_get(g, cell_text(t[4], r, 0), cell_text(t[4], r, 1), cell_text(t[4], r, 2), 0);
        if (x != NULL && cell_int(t[4], r, 4) > 0) {
            fnames_add(&x->orgs, cell_text(t[4], r, 3));
            fnames_add(&fb_domain(b, x->dom)->orgs, cell_text(t[4], r, 3));
        }
    }
    for (size_t r = 0; r < t[5]->nrows; r++) {
        struct fgroup *x = group_get(g, cell_text(t[5], r, 0), cell_text(t[5], r, 1), cell_text(t[5], r, 2), 0);
        char *k;
        if (cell_int(t[5], r, 3) <= 0)
            continue;
        if (x != NULL)
            x->in_prev = 1;
        k = fmap_key3(cell_text(t[5], r, 0), cell_text(t[5], r, 1), "");
        fmap_put(&g->prev, k, 1);
        free(k);
        k = fmap_key3(cell_text(t[5], r, 0), "", cell_text(t[5], r, 2));
        fmap_put(&g->prev, k, 1);
        free(k);
    }
    rc = load_reasons(b, g, err);
done:
    for (int i = 0; i < 6; i++)
        rpt_table_free(t[i]);
    return rc;
}

/* ---------------------------------------------------------------- failure rules */

/* The diagnosis of each RFC 8460 result type: its finding code (the type
 * itself), whether it is about an MX host (else about the policy host),
 * what it means and what to change.  "%s" in fix is the MX host or the
 * policy domain.  A type not listed is kept as given (failure-type-other). */
static const struct diag {
    const char *type;
    int per_mx;
    int min_warning;              /* at least a warning whatever its rate */
    const char *meaning, *fix;
} diags[] = {
    {"starttls-not-supported", 1, 1,
     "Senders found no STARTTLS on this MX: mail went to it unencrypted, or under mode enforce was not delivered.",
     "Enable STARTTLS with a valid certificate on %s (Postfix: smtpd_tls_security_level = may, "
     "smtpd_tls_chain_files)."},
    {"certificate-expired", 1, 1,
     "The certificate this MX presents has expired.",
     "Renew the certificate of %s and reload the MTA; automate the renewal with a hook that reloads it."},
    {"certificate-host-mismatch", 1, 1,
     "The certificate of this MX does not name the MX host senders connect to.",
     "Install on %s a certificate whose subjectAltName covers that host name (or point the MX record "
     "at a name the certificate covers)."},
    {"certificate-not-trusted", 1, 1,
     "Senders could not build a trusted chain for this MX's certificate (self-signed, unknown CA or "
     "a missing intermediate).",
     "Serve on %s a certificate from a public CA together with its intermediate certificates."},
    {"validation-failure", 1, 0,
     "Senders could not validate this MX against the policy; most often the MX host is not matched "
     "by an mx line of the MTA-STS policy.",
     "Make the policy's mx lines match %s (then change the id of the _mta-sts TXT record), or fix its TLS setup."},
    {"tlsa-invalid", 1, 1,
     "The TLSA records of this MX do not match its certificate, or cannot be used.",
     "Update the _25._tcp TLSA records of %s to the certificate or key it serves (publish the new record "
     "before a key rollover)."},
    {"dnssec-invalid", 1, 1,
     "DNSSEC validation failed for the records senders looked up.",
     "Repair the DNSSEC chain of the zone of %s (DS record at the parent, signatures not expired)."},
    {"dane-required", 1, 1,
     "DANE was required for this MX but senders could not use it (no usable TLSA record or TLS).",
     "Publish valid TLSA records for %s and offer STARTTLS with the matching certificate."},
    {"sts-policy-fetch-error", 0, 1,
     "Senders could not fetch the MTA-STS policy file.",
     "Make https://mta-sts.%s/.well-known/mta-sts.txt answer 200 with the policy (no redirect)."},
    {"sts-policy-invalid", 0, 1,
     "The MTA-STS policy file senders fetched did not parse.",
     "Fix the policy text of mta-sts.%s: version: STSv1, mode, mx lines and max_age, one key: value a line "
     "(tlsrpt-report check shows the problems)."},
    {"sts-webpki-invalid", 0, 1,
     "The HTTPS certificate of the MTA-STS policy host failed validation.",
     "Serve https://mta-sts.%s with a certificate from a public CA valid for that name, with its chain."},
};
#define N_DIAGS (sizeof diags / sizeof diags[0])

static const struct diag diag_other = {
    NULL, 1, 0,
    "Senders reported failures of a type RFC 8460 does not define; it is shown as they gave it.",
    "Read the failure details (tlsrpt-report failures --type ...) of %s for what the sender meant."};

/* sts-policy-fetch-error by its reason code: what a code means. */
enum fetch_class { FC_OTHER, FC_404, FC_TLS, FC_TIMEOUT, FC_HTTP };
static const char *const fetch_meaning[] = {
    [FC_OTHER] = "Senders could not fetch the MTA-STS policy file.",
    [FC_404] = "The policy host answered 404: the file is not at /.well-known/mta-sts.txt (wrong file "
               "name, wrong directory, or the virtual host of mta-sts is missing).",
    [FC_TLS] = "The TLS connection to the MTA-STS policy host failed (certificate, protocol or handshake).",
    [FC_TIMEOUT] = "The MTA-STS policy host did not answer in time, or refused the connection.",
    [FC_HTTP] = "The MTA-STS policy host answered with an HTTP status other than 200 (a redirect counts: "
                "senders must not follow it).",
};
static const char *const fetch_fix[] = {
    [FC_OTHER] = "Make https://mta-sts.%s/.well-known/mta-sts.txt answer 200 with the policy (no redirect).",
    [FC_404] = "Publish the policy as exactly /.well-known/mta-sts.txt on https://mta-sts.%s with status 200.",
    [FC_TLS] = "Serve https://mta-sts.%s with a valid certificate for that name from a public CA, "
               "TLS 1.2 or later.",
    [FC_TIMEOUT] = "Make mta-sts.%s resolve and answer on port 443 from the internet (DNS, firewall, web server).",
    [FC_HTTP] = "Answer https://mta-sts.%s/.well-known/mta-sts.txt with 200 and the policy itself, not a redirect.",
};

static int has_ci(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, n) == 0)
            return 1;
    return 0;
}

static enum fetch_class fetch_class(const char *rc)
{
    if (rc == NULL || rc[0] == '\0')
        return FC_OTHER;
    if (has_ci(rc, "404") || has_ci(rc, "not found"))
        return FC_404;
    if (has_ci(rc, "timeout") || has_ci(rc, "timed out") || has_ci(rc, "deadline") || has_ci(rc, "refused") || has_ci(rc, "unreachable") ||
        has_ci(rc, "resolve") || has_ci(rc, "nxdomain"))
        return FC_TIMEOUT;
    if (has_ci(rc, "tls") || has_ci(rc, "ssl") || has_ci(rc, "certificate") || has_ci(rc, "handshake") ||
        has_ci(rc, "x509"))
        return FC_TLS;
    if (has_ci(rc, "http") || has_ci(rc, "status") || has_ci(rc, "redirect") || has_ci(rc, "30"))
        return FC_HTTP;
    return FC_OTHER;
}

static const struct diag *diag_of(const char *type)
{
    for (size_t i = 0; i < N_DIAGS; i++)
        if (strcmp(diags[i].type, type) == 0)
            return &diags[i];
    return &diag_other;
}

/* tmpl with its one "%s" replaced by what (the templates are the tables'
 * constants; no printf on them). */
static char *fmt_fix(const char *tmpl, const char *what)
{
    const char *at = strstr(tmpl, "%s");
    if (at == NULL)
        return xstrdup(tmpl);
    return xasprintf("%.*s%s%s", (int)(at - tmpl), tmpl, what ? what : "", at + 2);
}

/* Severity of a diagnosis: by its rate of the domain's sessions, at least
 * a warning for a type that does not fix itself, else info. */
static enum rpt_severity diag_severity(const struct fb *b, const struct diag *dg, double rate)
{
    enum rpt_severity s = fb_rate_severity(b, rate);
    if (s == RPT_SEV_NONE)
        s = dg->min_warning ? RPT_SEV_WARNING : RPT_SEV_INFO;
    return s;
}

static void set_numbers(struct rpt_finding *x, int64_t failed, int64_t sessions)
{
    x->failed = failed;
    x->sessions = sessions;
    x->rate = pct(failed, sessions);
}

/* "code (N); code (M)" of a group's reason codes. */
static char *reasons_text(const struct fgroup *g)
{
    struct fnames l = {0};
    char *out;
    for (size_t i = 0; i < g->n_rc; i++) {
        char *e = xasprintf("%s (%lld)", g->rc[i].rc, (long long)g->rc[i].failed);
        fnames_add(&l, e);
        free(e);
    }
    out = fnames_join(&l, "; ");
    fnames_free(&l);
    return out;
}

/* domain-failure-rate and mx-failure-rate. */
static void rule_domain_rate(struct fb *b)
{
    for (size_t i = 0; i < b->n_dom; i++) {
        struct fdomain *d = &b->dom[i];
        int64_t sessions = d->ok + d->bad;
        double rate = pct(d->bad, sessions);
        enum rpt_severity sev = fb_rate_severity(b, rate);
        struct rpt_finding *x;
        if (sessions <= 0 || d->bad <= 0 || sev == RPT_SEV_NONE)
            continue;
        x = fb_add(b, "domain-failure-rate", sev, d->name);
        set_numbers(x, d->bad, sessions);
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

/* Groups summed over the MX hosts or over the types of a domain. */
struct fagg {
    const char *dom, *key;        /* borrowed from the groups */
    int64_t failed, first, last, since;
    struct fnames orgs, names;    /* names: the types (per MX) or the MX hosts (per type) */
    int in_prev;
};
struct faggs {
    struct fagg *v;
    size_t n;
};

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
            widen(&a->first, &a->last, x->first);
            widen(&a->first, &a->last, x->last);
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
        enum rpt_severity sev = fb_rate_severity(b, pct(a->failed, sessions));
        struct rpt_finding *x;
        char *ty;
        if (d->mxs.n < 2 || sessions <= 0 || a->failed <= 0 || sev == RPT_SEV_NONE)
            continue;
        x = fb_add(b, "mx-failure-rate", sev, d->name);
        ty = fnames_join(&a->names, ", ");
        x->mx = xstrdup(a->key);
        set_numbers(x, a->failed, sessions);
        x->orgs = fnames_join(&a->orgs, ", ");
        x->type = a->names.n == 1 ? xstrdup(a->names.v[0]) : NULL;
        x->first_day = a->first;
        x->last_day = a->last;
        x->evidence = xasprintf("%lld failed sessions at this MX, %.2f%% of the domain's %lld sessions "
                                "(%zu MX hosts had failures); failure types: %s.", (long long)a->failed, x->rate,
                                (long long)sessions, d->mxs.n, ty ? ty : "");
        x->meaning = xstrdup("This MX host alone accounts for a failure rate over the threshold.");
        x->fix = fmt_fix("Fix %s first (its failure-type findings say how), or take it out of the MX records "
                         "until it is fixed.", a->key);
        free(ty);
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
            set_numbers(x, a->failed, d->ok + d->bad);
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

static void date_of(int64_t t, char *buf)
{
    if (t < 0)
        snprintf(buf, RPT_LABEL_MAX, "-");
    else
        rpt_fmt_date(t, buf);
}

/* One diagnosis finding: the common fields. */
static struct rpt_finding *add_diag(struct fb *b, const struct diag *dg, const char *dom, const char *type,
                                    int64_t failed, double rate, const char *fix_for)
{
    struct fdomain *d = fb_domain(b, dom);
    struct rpt_finding *x = fb_add(b, dg->type ? dg->type : "failure-type-other", diag_severity(b, dg, rate), dom);
    x->type = xstrdup(type);
    set_numbers(x, failed, d->ok + d->bad);
    x->meaning = xstrdup(dg->meaning);
    x->fix = fmt_fix(dg->fix, fix_for);
    return x;
}

/* Per failure type, a diagnosis: per (domain, MX) for the MX types, per
 * domain for the policy-host types; sts-policy-fetch-error once per
 * reason code. */
static void rule_diagnoses(struct fb *b, const struct fgroups *g, const struct faggs *per_type)
{
    char d1[RPT_LABEL_MAX], d2[RPT_LABEL_MAX];

    for (size_t i = 0; i < g->n; i++) {
        const struct fgroup *gr = &g->v[i];
        const struct diag *dg = diag_of(gr->ty);
        struct fdomain *d = fb_domain(b, gr->dom);
        struct rpt_finding *x;
        char *orgs;
        if (!dg->per_mx || gr->failed <= 0)
            continue;
        x = add_diag(b, dg, gr->dom, gr->ty, gr->failed, pct(gr->failed, d->ok + d->bad), gr->mx);
        x->mx = xstrdup(gr->mx);
        x->orgs = fnames_join(&gr->orgs, ", ");
        x->reasons = reasons_text(gr);
        x->first_day = gr->first;
        x->last_day = gr->last;
        orgs = fnames_join(&gr->orgs, ", ");
        date_of(gr->since, d1);
        date_of(gr->last, d2);
        if (strcmp(gr->ty, "validation-failure") == 0) {
            int in = fr_mx_in_policies(d, gr->mx);
            x->evidence = xasprintf("%lld failed sessions at %s reported by %zu organization(s); %s.",
                                    (long long)gr->failed, gr->mx, gr->orgs.n + gr->orgs.more,
                                    in < 0 ? "no MTA-STS policy with mx lines was reported for the domain"
                                    : in ? "the MX matches an mx pattern of the policy senders saw, so the cause is "
                                           "its TLS setup (certificate or STARTTLS)"
                                         : "the MX matches no mx pattern of the policies senders saw: the policy's "
                                           "mx list does not name it");
        } else if (strcmp(gr->ty, "certificate-expired") == 0) {
            x->evidence = xasprintf("%lld failed sessions at %s; expired since %s at the latest (first failure "
                                    "seen, the previous window included), last seen %s.",
                                    (long long)gr->failed, gr->mx, d1, d2);
        } else {
            x->evidence = xasprintf("%lld failed sessions at %s reported by %zu organization(s), first seen %s "
                                    "(the previous window included), last seen %s.", (long long)gr->failed, gr->mx,
                                    gr->orgs.n + gr->orgs.more, d1, d2);
        }
        free(orgs);
    }
    for (size_t i = 0; i < per_type->n; i++) {
        const struct fagg *a = &per_type->v[i];
        const struct diag *dg = diag_of(a->key);
        struct fdomain *d = fb_domain(b, a->dom);
        int64_t sessions = d->ok + d->bad, by_code = 0;
        int fetch = strcmp(a->key, "sts-policy-fetch-error") == 0;
        if (dg->per_mx || a->failed <= 0)
            continue;
        /* sts-policy-fetch-error: one finding per reason code. */
        for (size_t j = 0; fetch && j < g->n; j++) {
            const struct fgroup *gr = &g->v[j];
            if (strcmp(gr->dom, a->dom) != 0 || strcmp(gr->ty, a->key) != 0)
                continue;
            for (size_t r = 0; r < gr->n_rc; r++) {
                enum fetch_class fc = fetch_class(gr->rc[r].rc);
                struct rpt_finding *x = add_diag(b, dg, a->dom, a->key, gr->rc[r].failed,
                                                 pct(gr->rc[r].failed, sessions), a->dom);
                free(x->meaning);
                free(x->fix);
                x->meaning = xstrdup(fetch_meaning[fc]);
                x->fix = fmt_fix(fetch_fix[fc], a->dom);
                x->reasons = xstrdup(gr->rc[r].rc);
                x->orgs = fnames_join(&gr->orgs, ", ");
                x->first_day = gr->rc[r].first;
                x->last_day = gr->rc[r].last;
                x->evidence = xasprintf("%lld failed sessions with this reason code, of %lld failed by this "
                                        "type.", (long long)gr->rc[r].failed, (long long)a->failed);
                by_code += gr->rc[r].failed;
            }
        }
        if (!fetch || a->failed > by_code) {
            struct rpt_finding *x = add_diag(b, dg, a->dom, a->key, a->failed - by_code,
                                             pct(a->failed - by_code, sessions), a->dom);
            x->orgs = fnames_join(&a->orgs, ", ");
            x->first_day = a->first;
            x->last_day = a->last;
            date_of(a->since, d1);
            x->evidence = xasprintf("%lld failed sessions%s, first seen %s (the previous window included).",
                                    (long long)(a->failed - by_code), fetch ? " without a reason code" : "", d1);
            if (!fetch) {
                struct fnames rc = {0};
                for (size_t j = 0; j < g->n; j++)
                    if (strcmp(g->v[j].dom, a->dom) == 0 && strcmp(g->v[j].ty, a->key) == 0)
                        for (size_t r = 0; r < g->v[j].n_rc; r++)
                            fnames_add(&rc, g->v[j].rc[r].rc);
                x->reasons = fnames_join(&rc, "; ");
                fnames_free(&rc);
            }
        }
    }
}

/* ---------------------------------------------------------------- order, build */

static int cmp_opt(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_finding(const void *pa, const void *pb)
{
    const struct rpt_finding *a = pa, *b = pb;
    int c;
    if (a->severity != b->severity)
        return a->severity > b->severity ? -1 : 1;
    if ((c = cmp_opt(a->domain, b->domain)) != 0)
        return c;
    if ((c = strcmp(a->code, b->code)) != 0)
        return c;
    if ((c = cmp_opt(a->mx, b->mx)) != 0)
        return c;
    if ((c = cmp_opt(a->type, b->type)) != 0)
        return c;
    return cmp_opt(a->reasons, b->reasons);
}

static void finding_free(struct rpt_finding *x)
{
    free(x->domain);
    free(x->mx);
    free(x->type);
    free(x->orgs);
    free(x->reasons);
    free(x->policies);
    free(x->evidence);
    free(x->meaning);
    free(x->fix);
}

void rpt_findings_free(struct rpt_findings *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        finding_free(&f->v[i]);
    free(f->v);
    free(f);
}

static void fb_free(struct fb *b)
{
    for (size_t i = 0; i < b->n_dom; i++) {
        struct fdomain *d = &b->dom[i];
        free(d->name);
        fnames_free(&d->orgs);
        fnames_free(&d->mxs);
        fnames_free(&d->types);
        fnames_free(&d->no_policy_orgs);
        fnames_free(&d->sts_orgs);
        fr_free_policies(d);
    }
    free(b->dom);
    fmap_free(&b->dom_map);
}

int rpt_findings_build(sqlite3 *db, const struct rpt_scope *s, const struct rpt_find_opts *fo,
                       int64_t now, struct rpt_findings **out, struct tr_err *err)
{
    struct fb b;
    struct fgroups g = {0};
    struct faggs per_mx = {0}, per_type = {0};
    struct rpt_findings *f = xcalloc(1, sizeof *f);
    int rc = -1;

    memset(&b, 0, sizeof b);
    b.db = db;
    b.fo = fo;
    b.now = now;
    b.f = f;
    b.win = *s;
    b.win.any_order = 1;
    b.win.epoch_keys = 1;
    b.prev = b.win;
    b.prev.until = s->since;
    b.prev.since = s->since - (s->until - s->since);
    f->since = s->since;
    f->until = s->until;
    f->prev_since = b.prev.since;

    if (fr_load_policies(&b, err) < 0 || load_groups(&b, &g, err) < 0)
        goto done;
    aggregate(&g, 1, &per_mx);
    aggregate(&g, 0, &per_type);
    rule_domain_rate(&b);
    rule_mx_rate(&b, &per_mx);
    rule_diagnoses(&b, &g, &per_type);
    rule_new(&b, &per_mx, &per_type);
    if (fr_policy_rules(&b, err) < 0 || fr_reporter_rules(&b, err) < 0 || fr_pipeline_rules(&b, err) < 0)
        goto done;

    qsort(f->v, f->n, sizeof *f->v, cmp_finding);
    while (f->n > RPT_FIND_MAX) {
        finding_free(&f->v[--f->n]);
        f->dropped++;
    }
    f->worst = RPT_SEV_NONE;
    for (size_t i = 0; i < f->n; i++) {
        struct rpt_finding *x = &f->v[i];
        f->n_critical += x->severity == RPT_SEV_CRITICAL;
        f->n_warning += x->severity == RPT_SEV_WARNING;
        f->n_info += x->severity == RPT_SEV_INFO;
        if (x->severity > f->worst)
            f->worst = x->severity;
        if (strcmp(x->code, "capture-stopped") == 0)
            f->pipeline_stopped = 1;
    }
    rc = 0;
done:
    groups_free(&g);
    aggs_free(&per_mx);
    aggs_free(&per_type);
    fb_free(&b);
    if (rc < 0) {
        rpt_findings_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

/* ---------------------------------------------------------------- table, JSON */

static const struct { const char *name; enum rpt_col_style style; } table_cols[] = {
    {"severity", RPT_S_TEXT}, {"code", RPT_S_TEXT}, {"domain", RPT_S_TEXT}, {"mx", RPT_S_TEXT},
    {"type", RPT_S_TEXT}, {"orgs", RPT_S_TEXT}, {"sessions", RPT_S_COUNT}, {"failed", RPT_S_FAIL},
    {"rate", RPT_S_RATE}, {"reasons", RPT_S_TEXT}, {"first_day", RPT_S_TEXT}, {"last_day", RPT_S_TEXT},
    {"policies", RPT_S_TEXT}, {"evidence", RPT_S_TEXT}, {"meaning", RPT_S_TEXT}, {"fix", RPT_S_TEXT},
};
#define N_TABLE_COLS (sizeof table_cols / sizeof table_cols[0])

struct rpt_table *rpt_findings_table(const struct rpt_findings *f)
{
    struct rpt_table *t = rpt_table_new();
    char day[RPT_LABEL_MAX];

    for (size_t c = 0; c < N_TABLE_COLS; c++)
        rpt_table_add_col(t, table_cols[c].name, table_cols[c].style);
    for (size_t i = 0; i < f->n; i++) {
        const struct rpt_finding *x = &f->v[i];
        size_t r = rpt_table_add_row(t);
        rpt_table_set_text(t, r, 0, rpt_severity_name(x->severity));
        rpt_table_set_text(t, r, 1, x->code);
        rpt_table_set_text(t, r, 2, x->domain);
        rpt_table_set_text(t, r, 3, x->mx);
        rpt_table_set_text(t, r, 4, x->type);
        rpt_table_set_text(t, r, 5, x->orgs);
        if (x->sessions >= 0)
            rpt_table_set_int(t, r, 6, x->sessions);
        if (x->failed >= 0)
            rpt_table_set_int(t, r, 7, x->failed);
        if (x->rate >= 0)
            rpt_table_set_real(t, r, 8, x->rate);
        rpt_table_set_text(t, r, 9, x->reasons);
        if (x->first_day >= 0) {
            rpt_fmt_date(x->first_day, day);
            rpt_table_set_text(t, r, 10, day);
        }
        if (x->last_day >= 0) {
            rpt_fmt_date(x->last_day, day);
            rpt_table_set_text(t, r, 11, day);
        }
        rpt_table_set_text(t, r, 12, x->policies);
        rpt_table_set_text(t, r, 13, x->evidence);
        rpt_table_set_text(t, r, 14, x->meaning);
        rpt_table_set_text(t, r, 15, x->fix);
    }
    return t;
}

static void set_datetime(json_t *o, const char *key, int64_t t)
{
    char buf[RPT_LABEL_MAX];
    rpt_fmt_datetime(t, buf);
    json_object_set_new(o, key, json_string(buf));
}

json_t *rpt_findings_json(const struct rpt_findings *f)
{
    json_t *doc = json_object(), *counts = json_object();
    struct rpt_table *t = rpt_findings_table(f);

    set_datetime(doc, "since", f->since);
    set_datetime(doc, "until", f->until);
    set_datetime(doc, "previous_since", f->prev_since);
    json_object_set_new(counts, "critical", json_integer((json_int_t)f->n_critical));
    json_object_set_new(counts, "warning", json_integer((json_int_t)f->n_warning));
    json_object_set_new(counts, "info", json_integer((json_int_t)f->n_info));
    json_object_set_new(counts, "dropped", json_integer((json_int_t)f->dropped));
    json_object_set_new(doc, "counts", counts);
    json_object_set_new(doc, "worst", f->worst == RPT_SEV_NONE ? json_null()
                                                               : json_string(rpt_severity_name(f->worst)));
    json_object_set_new(doc, "pipeline_stopped", json_boolean(f->pipeline_stopped));
    json_object_set_new(doc, "findings", rpt_table_to_json(t));
    rpt_table_free(t);
    return doc;
}
