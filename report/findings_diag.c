/*
 * findings_diag.c - a diagnosis per failure type (RFC 8460 section 4.3):
 * one finding per (domain, MX) for the types about an MX host, one per
 * domain for those about the MTA-STS policy host, sts-policy-fetch-error
 * once per reason code with what that code means (a 404, a TLS failure, a
 * timeout); types RFC 8460 does not define are kept as given.  What each
 * means and what to change is the table below (tlsrpt-report(1),
 * FINDINGS, says the same).
 */
#include "findings_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* 1 when s holds number as a word of its own ("code: 404", not the 404
 * of a host name such as mta-sts.fetch404.example). */
static int has_number(const char *s, const char *number)
{
    size_t n = strlen(number);
    for (const char *p = strstr(s, number); p != NULL; p = strstr(p + 1, number)) {
        char before = p > s ? p[-1] : ' ', after = p[n];
        if (!isalnum((unsigned char)before) && before != '.' && before != '-' && !isalnum((unsigned char)after) &&
            after != '.' && after != '-')
            return 1;
    }
    return 0;
}

/* What a reason code of sts-policy-fetch-error says: a timeout or an
 * unreachable host first (their texts often name the URL), then a 404, a
 * TLS failure, another HTTP status. */
static enum fetch_class fetch_class(const char *rc)
{
    if (rc == NULL || rc[0] == '\0')
        return FC_OTHER;
    if (has_ci(rc, "timeout") || has_ci(rc, "timed out") || has_ci(rc, "deadline") || has_ci(rc, "refused") ||
        has_ci(rc, "unreachable") || has_ci(rc, "resolve") || has_ci(rc, "nxdomain"))
        return FC_TIMEOUT;
    if (has_number(rc, "404") || has_ci(rc, "not found"))
        return FC_404;
    if (has_ci(rc, "tls") || has_ci(rc, "ssl") || has_ci(rc, "certificate") || has_ci(rc, "handshake") ||
        has_ci(rc, "x509"))
        return FC_TLS;
    if (has_ci(rc, "http") || has_ci(rc, "status") || has_ci(rc, "redirect"))
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

/* Severity of a diagnosis: by its rate of the domain's sessions, at least
 * a warning for a type that does not fix itself, else info. */
static enum rpt_severity diag_severity(const struct fb *b, const struct diag *dg, double rate)
{
    enum rpt_severity s = fb_rate_severity(b, rate);
    if (s == RPT_SEV_NONE)
        s = dg->min_warning ? RPT_SEV_WARNING : RPT_SEV_INFO;
    return s;
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

/* One diagnosis finding: the common fields. */
static struct rpt_finding *add_diag(struct fb *b, const struct diag *dg, const char *dom, const char *type,
                                    int64_t failed, double rate, const char *fix_for)
{
    struct fdomain *d = fb_domain(b, dom);
    struct rpt_finding *x = fb_add(b, dg->type ? dg->type : "failure-type-other", diag_severity(b, dg, rate), dom);
    x->type = xstrdup(type);
    fb_set_numbers(x, failed, d->ok + d->bad);
    x->meaning = xstrdup(dg->meaning);
    x->fix = fb_fix_text(dg->fix, fix_for);
    return x;
}

/* Per failure type, a diagnosis: per (domain, MX) for the MX types, per
 * domain for the policy-host types; sts-policy-fetch-error once per
 * reason code. */
void fd_diagnoses(struct fb *b, const struct fgroups *g, const struct faggs *per_type)
{
    char d1[RPT_LABEL_MAX], d2[RPT_LABEL_MAX];

    for (size_t i = 0; i < g->n; i++) {
        const struct fgroup *gr = &g->v[i];
        const struct diag *dg = diag_of(gr->ty);
        struct fdomain *d = fb_domain(b, gr->dom);
        struct rpt_finding *x;
        if (!dg->per_mx || gr->failed <= 0)
            continue;
        x = add_diag(b, dg, gr->dom, gr->ty, gr->failed, fb_pct(gr->failed, d->ok + d->bad), gr->mx);
        x->mx = xstrdup(gr->mx);
        x->orgs = fnames_join(&gr->orgs, ", ");
        x->reasons = reasons_text(gr);
        x->first_day = gr->first;
        x->last_day = gr->last;
        fb_date(gr->first, d1);
        fb_date(gr->last, d2);
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
            fb_date(gr->since, d1);
            x->evidence = xasprintf("%lld failed sessions at %s; expired since %s at the latest (its first failure "
                                    "in this window and the previous one), last seen %s.",
                                    (long long)gr->failed, gr->mx, d1, d2);
        } else {
            x->evidence = xasprintf("%lld failed sessions at %s reported by %zu organization(s) from %s to %s%s.",
                                    (long long)gr->failed, gr->mx, gr->orgs.n + gr->orgs.more, d1, d2,
                                    gr->in_prev ? "; it failed in the previous window too" : "");
        }
    }
    for (size_t i = 0; i < per_type->n; i++) {
        const struct fagg *a = &per_type->v[i];
        const struct diag *dg = diag_of(a->key);
        struct fdomain *d = fb_domain(b, a->dom);
        int64_t sessions = d->ok + d->bad, by_code = 0;
        int fetch = strcmp(a->key, "sts-policy-fetch-error") == 0;
        if (dg->per_mx || a->failed <= 0)
            continue;
        /* sts-policy-fetch-error: one finding per reason code (merged
         * over the MX values its details carry). */
        if (fetch) {
            struct freason m[FIND_NAMES_TRACK];
            size_t n = 0;
            for (size_t j = 0; j < a->n_members; j++) {
                const struct fgroup *gr = &g->v[a->members[j]];
                for (size_t r = 0; r < gr->n_rc; r++) {
                    size_t k = 0;
                    while (k < n && strcmp(m[k].rc, gr->rc[r].rc) != 0)
                        k++;
                    if (k == n) {
                        if (n == FIND_NAMES_TRACK)
                            continue;      /* counted with the rest below */
                        m[n].rc = gr->rc[r].rc;
                        m[n].failed = 0;
                        m[n].first = m[n].last = -1;
                        n++;
                    }
                    m[k].failed += gr->rc[r].failed;
                    fb_widen(&m[k].first, &m[k].last, gr->rc[r].first);
                    fb_widen(&m[k].first, &m[k].last, gr->rc[r].last);
                }
            }
            for (size_t k = 0; k < n; k++) {
                enum fetch_class fc = fetch_class(m[k].rc);
                struct rpt_finding *x = add_diag(b, dg, a->dom, a->key, m[k].failed,
                                                 fb_pct(m[k].failed, sessions), a->dom);
                free(x->meaning);
                free(x->fix);
                x->meaning = xstrdup(fetch_meaning[fc]);
                x->fix = fb_fix_text(fetch_fix[fc], a->dom);
                x->reasons = xstrdup(m[k].rc);
                x->orgs = fnames_join(&a->orgs, ", ");
                x->first_day = m[k].first;
                x->last_day = m[k].last;
                x->evidence = xasprintf("%lld failed sessions with this reason code, of %lld failed by this "
                                        "type.", (long long)m[k].failed, (long long)a->failed);
                by_code += m[k].failed;
            }
        }
        if (!fetch || a->failed > by_code) {
            struct rpt_finding *x = add_diag(b, dg, a->dom, a->key, a->failed - by_code,
                                             fb_pct(a->failed - by_code, sessions), a->dom);
            x->orgs = fnames_join(&a->orgs, ", ");
            x->first_day = a->first;
            x->last_day = a->last;
            fb_date(a->first, d1);
            fb_date(a->last, d2);
            x->evidence = xasprintf("%lld failed sessions%s from %s to %s%s.", (long long)(a->failed - by_code),
                                    fetch ? " without a reason code (or with one of too many)" : "", d1, d2,
                                    a->in_prev ? "; it failed in the previous window too" : "");
            if (!fetch) {
                struct fnames rc = {0};
                for (size_t j = 0; j < a->n_members; j++)
                    for (size_t r = 0; r < g->v[a->members[j]].n_rc; r++)
                        fnames_add(&rc, g->v[a->members[j]].rc[r].rc);
                x->reasons = fnames_join(&rc, "; ");
                fnames_free(&rc);
            }
        }
    }
}

