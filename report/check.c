/*
 * check.c - tlsrpt-report check: per domain, the DNS records, the policy
 * file, the consistency of policy and MX records, each MX on port 25, the
 * comparison with the last stored check and with what senders reported in
 * the last 30 days; the table and JSON output; the run stored in the
 * database (check_run, schema/009-checks.sql).  The modules are listed in
 * check.h; every code is documented in tlsrpt-report(1).
 */
#include "check.h"
#include "args.h"
#include "dns.h"
#include "output.h"
#include "smtp.h"
#include "stspol.h"
#include "sts.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/db.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <unistd.h>

/* Caps: MX hosts probed per domain, domains per run, addresses per MX
 * (only the first is probed), stored checks shown as history, rows of
 * report comparisons per domain. */
#define CHK_MX_MAX 16
#define CHK_DOMAINS_MAX 1000
#define CHK_HISTORY_MAX 5
#define CHK_REPORT_ROWS_MAX 50
#define CHK_TXT_MAX 4096
#define CHK_REPORT_DAYS 30

/* ---- the result list ---- */

void chk_add(struct chk_list *l, const char *code, enum chk_status st, const char *subject, const char *fix,
             const char *fmt, ...)
{
    struct chk_result *r;
    va_list ap;
    if (l->n == CHK_RESULTS_MAX)
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->r = xrealloc(l->r, l->cap * sizeof *l->r);
    }
    r = &l->r[l->n++];
    memset(r, 0, sizeof *r);
    if (l->n == CHK_RESULTS_MAX) {
        snprintf(r->code, sizeof r->code, "check-truncated");
        r->status = CHK_WARN;
        snprintf(r->detail, sizeof r->detail, "more than %d results: the rest left out", CHK_RESULTS_MAX);
        snprintf(r->fix, sizeof r->fix, "Check fewer MX hosts at a time.");
        return;
    }
    snprintf(r->code, sizeof r->code, "%s", code);
    r->status = st;
    snprintf(r->subject, sizeof r->subject, "%s", subject ? subject : "");
    if (st != CHK_OK)
        snprintf(r->fix, sizeof r->fix, "%s", fix ? fix : "");
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

void chk_list_free(struct chk_list *l)
{
    free(l->r);
    memset(l, 0, sizeof *l);
}

enum chk_status chk_worst(const struct chk_list *l)
{
    enum chk_status w = CHK_OK;
    for (size_t i = 0; i < l->n; i++)
        if (l->r[i].status > w)
            w = l->r[i].status;
    return w;
}

const char *chk_status_name(enum chk_status st)
{
    return st == CHK_FAIL ? "fail" : st == CHK_WARN ? "warn" : "ok";
}

/* ---- what one domain's check found, for the later steps ---- */

struct mxhost {
    char name[256];
    char addr[64];                /* "" when the name has no address */
    int matched;                  /* by a policy mx pattern */
    struct smtp_probe probe;
    int probed;
};

struct dom {
    const char *name;
    const struct chk_opts *o;
    struct dns *dns;
    struct chk_list l;
    char sts_id[64];              /* "" when no usable record */
    int sts_records;
    int policy_fetched;           /* HTTP 200 */
    int policy_usable;
    char *policy_text;            /* owned, the body when fetched */
    struct stspol pol;
    int have_pol;
    struct mxhost mx[CHK_MX_MAX];
    size_t n_mx;
    int resolver_down;
};

static long step_timeout(const struct chk_opts *o, long dflt)
{
    return o->timeout > 0 ? o->timeout : dflt;
}

/* The TXT records at name beginning with prefix (case-sensitive, as RFC
 * 8461/8460 say); up to cap kept in out[].  Returns how many there are. */
static size_t txt_records(struct dom *d, const char *name, const char *prefix, char out[][CHK_TXT_MAX], size_t cap,
                          struct dns_ans *a)
{
    size_t n = 0, plen = strlen(prefix);
    char txt[CHK_TXT_MAX];
    dns_query(d->dns, name, DNS_T_TXT, a);
    for (size_t i = 0; i < a->n; i++) {
        if (dns_txt(&a->rr[i], txt, sizeof txt) < 0)
            continue;
        /* "v=STSv1" followed by ';', space or the end */
        if (strncmp(txt, prefix, plen) != 0 || (txt[plen] != '\0' && txt[plen] != ';' && txt[plen] != ' '))
            continue;
        if (n < cap)
            snprintf(out[n], CHK_TXT_MAX, "%s", txt);
        n++;
    }
    return n;
}

/* Value of field key ("id", "rua") in a "k=v; k=v" record, into out. */
static int txt_field(const char *rec, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = rec; p != NULL && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            const char *v = p + kl + 1, *end = strchr(v, ';');
            size_t n = end ? (size_t)(end - v) : strlen(v);
            while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            snprintf(out, cap, "%.*s", (int)n, v);
            return 0;
        }
    }
    return -1;
}

static int answered(struct dom *d, const struct dns_ans *a, const char *name, const char *what)
{
    if (a->ok && (a->rcode == 0 || a->rcode == 3))
        return 1;
    chk_add(&d->l, "dns-lookup", CHK_FAIL, name, "Make the domain's name servers answer (or check --resolver).",
            "%s lookup of %s failed: %s %s", what, name, dns_status_text(a), a->why);
    return 0;
}

static void check_sts_record(struct dom *d)
{
    char name[300], recs[2][CHK_TXT_MAX], id[CHK_TXT_MAX];
    struct dns_ans a;
    size_t n;

    snprintf(name, sizeof name, "_mta-sts.%s", d->name);
    n = txt_records(d, name, "v=STSv1", recs, 2, &a);
    if (!answered(d, &a, name, "TXT")) {
        d->resolver_down++;
    } else if (a.sec == DNS_BOGUS) {
        chk_add(&d->l, "dnssec", CHK_FAIL, name, "Fix the zone's DNSSEC signatures (validating senders see no record).",
                "TXT %s is DNSSEC bogus: %s", name, a.why);
    } else if (n == 0) {
        chk_add(&d->l, "sts-record", CHK_FAIL, name,
                "Publish _mta-sts.DOMAIN TXT \"v=STSv1; id=YYYYMMDDNN;\" (without it senders never fetch the policy).",
                "no v=STSv1 TXT record at %s (%s, %zu TXT records)", name, dns_status_text(&a), a.n);
    } else if (n > 1) {
        d->sts_records = (int)n;
        chk_add(&d->l, "sts-record", CHK_FAIL, name,
                "Keep exactly one v=STSv1 record: with more, senders treat the domain as having no policy.",
                "%zu v=STSv1 TXT records at %s", n, name);
    } else {
        d->sts_records = 1;
        chk_add(&d->l, "sts-record", CHK_OK, name, NULL, "\"%.300s\" (DNSSEC: %s)", recs[0], dns_sec_name(a.sec));
        size_t len = 0;
        int ok = txt_field(recs[0], "id", id, sizeof id) == 0;
        for (len = 0; ok && id[len]; len++)
            ok = isalnum((unsigned char)id[len]) != 0;
        ok = ok && len >= 1 && len <= 32;
        if (ok) {
            snprintf(d->sts_id, sizeof d->sts_id, "%.32s", id);
            chk_add(&d->l, "sts-record-id", CHK_OK, name, NULL, "id %s", id);
        } else {
            chk_add(&d->l, "sts-record-id", CHK_FAIL, name,
                    "Use an id of 1 to 32 letters and digits (a date and counter, 2026120301), changed with every "
                    "policy change.", "id field '%.64s' is not 1-32 letters and digits",
                    txt_field(recs[0], "id", id, sizeof id) == 0 ? id : "(missing)");
        }
    }
    dns_ans_free(&a);
}

static void check_tlsrpt_record(struct dom *d)
{
    char name[300], recs[2][CHK_TXT_MAX], rua[CHK_TXT_MAX];
    struct dns_ans a;
    size_t n;

    snprintf(name, sizeof name, "_smtp._tls.%s", d->name);
    n = txt_records(d, name, "v=TLSRPTv1", recs, 2, &a);
    if (!answered(d, &a, name, "TXT")) {
        d->resolver_down++;
    } else if (n != 1) {
        chk_add(&d->l, "tlsrpt-record", CHK_FAIL, name,
                "Publish exactly one _smtp._tls.DOMAIN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@DOMAIN\".",
                "%zu v=TLSRPTv1 TXT records at %s (exactly one is needed)", n, name);
    } else if (txt_field(recs[0], "rua", rua, sizeof rua) < 0) {
        chk_add(&d->l, "tlsrpt-rua", CHK_FAIL, name, "Add rua=mailto:ADDRESS (or https:URL) to the record.",
                "\"%.300s\" has no rua field", recs[0]);
    } else {
        int bad = 0;
        char *copy = xstrdup(rua), *save = NULL;
        chk_add(&d->l, "tlsrpt-record", CHK_OK, name, NULL, "\"%.300s\"", recs[0]);
        for (char *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
            while (*u == ' ')
                u++;
            int mailto = strncmp(u, "mailto:", 7) == 0, https = strncmp(u, "https://", 8) == 0;
            const char *at = mailto ? strchr(u + 7, '@') : NULL;
            if (!(mailto && at && at > u + 7 && at[1] != '\0') && !(https && u[8] != '\0'))
                bad++;
        }
        free(copy);
        if (bad)
            chk_add(&d->l, "tlsrpt-rua", CHK_FAIL, name, "Give each rua URI as mailto:user@host or https://host/path.",
                    "rua '%.300s': %d URI(s) not mailto:ADDRESS or https:URL", rua, bad);
        else
            chk_add(&d->l, "tlsrpt-rua", CHK_OK, name, NULL, "reports go to %.300s", rua);
    }
    dns_ans_free(&a);
}

/* The first address of host (A, then AAAA) into out; 0 or -1. */
static int host_addr(struct dom *d, const char *host, char *out, size_t cap, struct dns_ans *why)
{
    static const int types[] = {DNS_T_A, DNS_T_AAAA};
    for (size_t t = 0; t < 2; t++) {
        struct dns_ans a;
        int found = -1;
        dns_query(d->dns, host, types[t], &a);
        for (size_t i = 0; i < a.n && found < 0; i++)
            found = dns_addr(&a.rr[i], types[t], out, cap);
        if (t == 0 || found == 0) {
            dns_ans_free(why);
            *why = a;
        } else {
            dns_ans_free(&a);
        }
        if (found == 0)
            return 0;
    }
    return -1;
}

static void check_mx_records(struct dom *d)
{
    struct dns_ans a;
    char names[CHK_MX_MAX * 64] = "";
    size_t off = 0;

    dns_query(d->dns, d->name, DNS_T_MX, &a);
    if (!answered(d, &a, d->name, "MX")) {
        d->resolver_down++;
        dns_ans_free(&a);
        return;
    }
    for (size_t i = 0; i < a.n && d->n_mx < CHK_MX_MAX; i++) {
        int pref;
        struct mxhost *m = &d->mx[d->n_mx];
        if (dns_mx(&a.rr[i], &pref, m->name, sizeof m->name) < 0 || strcmp(m->name, ".") == 0)
            continue;
        d->n_mx++;
        off += (size_t)snprintf(names + off, off < sizeof names ? sizeof names - off : 0, "%s%d %s",
                                off ? ", " : "", pref, m->name);
        if (off >= sizeof names)
            off = sizeof names - 1;
    }
    if (d->n_mx == 0)
        chk_add(&d->l, "mx-records", CHK_FAIL, d->name, "Publish MX records for the domain.",
                "no MX records for %s (%s)", d->name, dns_status_text(&a));
    else
        chk_add(&d->l, "mx-records", CHK_OK, d->name, NULL, "%s (DNSSEC: %s)", names, dns_sec_name(a.sec));
    dns_ans_free(&a);
    for (size_t i = 0; i < d->n_mx; i++) {
        struct dns_ans w = {0};
        if (host_addr(d, d->mx[i].name, d->mx[i].addr, sizeof d->mx[i].addr, &w) == 0)
            chk_add(&d->l, "mx-address", CHK_OK, d->mx[i].name, NULL, "%s", d->mx[i].addr);
        else
            chk_add(&d->l, "mx-address", CHK_FAIL, d->mx[i].name, "Give the MX host an A or AAAA record.",
                    "%s has no address (%s)", d->mx[i].name, dns_status_text(&w));
        dns_ans_free(&w);
    }
}

static int is_text_plain(const char *ct)
{
    size_t n = strcspn(ct, "; \t");
    return n == 10 && strncasecmp(ct, "text/plain", 10) == 0;
}

static void policy_results(struct dom *d)
{
    struct stspol *p = &d->pol;
    int seen_mode = 0, seen_age = 0, seen_mx = 0, seen_syntax = 0;

    for (size_t i = 0; i < p->n_problems; i++) {
        const struct stspol_problem *pr = &p->problems[i];
        const char *fix = "Correct the policy file (RFC 8461 section 3.2).";
        enum chk_status st = pr->fail ? CHK_FAIL : CHK_WARN;
        if (strcmp(pr->code, "policy-mode") == 0) {
            fix = "Set 'mode: enforce' (or testing, or none); any other value makes the policy invalid.";
            seen_mode = 1;
        } else if (strcmp(pr->code, "policy-max-age") == 0) {
            fix = "Set max_age to at least 604800 (a week) and at most 31557600 (a year).";
            seen_age = 1;
        } else if (strcmp(pr->code, "policy-mx-syntax") == 0) {
            fix = "Give one 'mx:' line per MX host or '*.domain' pattern.";
            seen_mx = 1;
        } else if (strcmp(pr->code, "policy-unknown-key") == 0) {
            st = CHK_OK;                 /* senders ignore it: noted only */
        } else {
            seen_syntax = 1;
        }
        chk_add(&d->l, pr->code, st, d->name, fix, "%s", pr->text);
    }
    if (!seen_syntax)
        chk_add(&d->l, "policy-syntax", CHK_OK, d->name, NULL, "version %s, %s line ends", p->version,
                p->crlf ? "CRLF" : "LF");
    if (!seen_mode) {
        if (strcmp(p->mode, "enforce") == 0)
            chk_add(&d->l, "policy-mode", CHK_OK, d->name, NULL, "mode enforce");
        else
            chk_add(&d->l, "policy-mode", CHK_WARN, d->name,
                    "When the reports show no failures, switch to 'mode: enforce' and change the id.",
                    "mode %s: senders deliver even when TLS fails%s", p->mode,
                    strcmp(p->mode, "testing") == 0 ? " (and report it)" : "");
    }
    if (!seen_age) {
        if (p->max_age < STSPOL_MAX_AGE_ADVISED)
            chk_add(&d->l, "policy-max-age", CHK_WARN, d->name,
                    "Use a max_age of at least 604800 (a week); long values protect against downgrade.",
                    "max_age %ld is under a week", p->max_age);
        else
            chk_add(&d->l, "policy-max-age", CHK_OK, d->name, NULL, "max_age %ld (%ld days)", p->max_age,
                    p->max_age / 86400);
    }
    if (!seen_mx)
        chk_add(&d->l, "policy-mx-syntax", CHK_OK, d->name, NULL, "%zu mx pattern(s)", p->n_mx);
}

static void check_policy(struct dom *d)
{
    char host[300], addr[64];
    struct dns_ans a = {0};
    struct sts_fetch f;

    snprintf(host, sizeof host, "mta-sts.%s", d->name);
    if (host_addr(d, host, addr, sizeof addr, &a) < 0) {
        chk_add(&d->l, "policy-fetch", CHK_FAIL, host, "Give mta-sts.DOMAIN an A or AAAA record and an HTTPS server.",
                "%s has no address (%s)", host, dns_status_text(&a));
        dns_ans_free(&a);
        return;
    }
    dns_ans_free(&a);
    sts_fetch(host, addr, d->o->ca_file, step_timeout(d->o, CHK_HTTP_TIMEOUT_S), &f);
    if (!f.transport_ok && f.webpki_fail) {
        chk_add(&d->l, "policy-webpki", CHK_FAIL, host,
                "Serve a certificate for mta-sts.DOMAIN from a public CA, with its intermediates.",
                "https://%s (%s): %s", host, addr, f.error);
    } else if (!f.transport_ok) {
        chk_add(&d->l, "policy-fetch", CHK_FAIL, host, "Make https://mta-sts.DOMAIN/ reachable on port 443.",
                "https://%s (%s): %s", host, addr, f.error);
    } else if (f.status >= 300 && f.status < 400) {
        chk_add(&d->l, "policy-fetch", CHK_FAIL, host,
                "Serve the file itself at /.well-known/mta-sts.txt: senders do not follow redirects.",
                "HTTP %ld redirect to %.200s (not followed)", f.status, f.location[0] ? f.location : "(no Location)");
    } else if (f.status != 200) {
        chk_add(&d->l, "policy-fetch", CHK_FAIL, host,
                "Serve the policy with status 200 at exactly https://mta-sts.DOMAIN/.well-known/mta-sts.txt.",
                "HTTP %ld for https://%s/.well-known/mta-sts.txt", f.status, host);
    } else if (f.too_big) {
        chk_add(&d->l, "policy-size", CHK_FAIL, host, "Keep the policy file small (a few lines).",
                "the policy file is larger than %d bytes", STS_BODY_MAX);
    } else {
        d->policy_fetched = 1;
        chk_add(&d->l, "policy-webpki", CHK_OK, host, NULL, "certificate valid for %s", host);
        chk_add(&d->l, "policy-fetch", CHK_OK, host, NULL, "HTTP 200, %zu bytes from %s", f.body_len, addr);
        if (is_text_plain(f.content_type))
            chk_add(&d->l, "policy-content-type", CHK_OK, host, NULL, "%.100s", f.content_type);
        else
            chk_add(&d->l, "policy-content-type", CHK_FAIL, host,
                    "Serve mta-sts.txt as text/plain (nginx: default_type text/plain; in that location).",
                    "Content-Type '%.100s' is not text/plain", f.content_type[0] ? f.content_type : "(none)");
        d->policy_text = xstrndup(f.body, f.body_len);
        d->policy_usable = stspol_parse(f.body, f.body_len, &d->pol) == 0;
        d->have_pol = 1;
        policy_results(d);
    }
    sts_fetch_free(&f);
}

static void check_consistency(struct dom *d)
{
    if (!d->have_pol || !d->policy_usable)
        return;
    int enforce = strcmp(d->pol.mode, "enforce") == 0;
    for (size_t i = 0; i < d->n_mx; i++) {
        for (size_t k = 0; k < d->pol.n_mx && !d->mx[i].matched; k++)
            d->mx[i].matched = stspol_mx_match(d->pol.mx[k], d->mx[i].name);
        if (d->mx[i].matched)
            chk_add(&d->l, "policy-mx-missing", CHK_OK, d->mx[i].name, NULL, "MX %s is in the policy", d->mx[i].name);
        else if (strcmp(d->pol.mode, "none") != 0)
            chk_add(&d->l, "policy-mx-missing", enforce ? CHK_FAIL : CHK_WARN, d->mx[i].name,
                    "Add 'mx: HOST' for this MX to the policy file and change the id in _mta-sts.",
                    "MX %s matches no mx line of the policy: %s", d->mx[i].name,
                    enforce ? "senders in enforce mode refuse it" : "senders report validation-failure");
    }
    for (size_t k = 0; k < d->pol.n_mx; k++) {
        int used = 0;
        for (size_t i = 0; i < d->n_mx && !used; i++)
            used = stspol_mx_match(d->pol.mx[k], d->mx[i].name);
        if (!used && d->n_mx > 0)
            chk_add(&d->l, "policy-mx-stale", CHK_WARN, d->name,
                    "Remove the stale mx line (after an MX change) and change the id.",
                    "policy pattern %.200s matches no MX of %s", d->pol.mx[k], d->name);
    }
}

static void check_mx_hosts(struct dom *d)
{
    for (size_t i = 0; i < d->n_mx; i++) {
        if (d->mx[i].addr[0] == '\0')
            continue;
        /* The same MX host listed twice is probed once. */
        int dup = 0;
        for (size_t k = 0; k < i && !dup; k++)
            dup = strcasecmp(d->mx[k].name, d->mx[i].name) == 0;
        if (dup)
            continue;
        smtp_probe(d->dns, d->mx[i].name, d->mx[i].addr, d->o->ca_file,
                   step_timeout(d->o, CHK_SMTP_STEP_TIMEOUT_S), d->o->now, &d->l, &d->mx[i].probe);
        d->mx[i].probed = 1;
    }
}

/* ---- the database: stored checks, reports ---- */

static void day_of(int64_t t, char *buf)
{
    rpt_fmt_date(t, buf);
}

static void check_history(struct dom *d, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    char hist[CHK_DETAIL_MAX] = "", day[RPT_LABEL_MAX];
    size_t off = 0;
    int row = 0;

    if (sqlite3_prepare_v2(db, "SELECT time, sts_id, policy_text, worst FROM check_run WHERE domain = ?1 "
                               "ORDER BY time DESC, id DESC LIMIT ?2", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, CHK_HISTORY_MAX);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 1);
        const char *text = (const char *)sqlite3_column_text(st, 2);
        const char *worst = (const char *)sqlite3_column_text(st, 3);
        rpt_fmt_datetime(sqlite3_column_int64(st, 0), day);
        if (row++ == 0 && d->sts_id[0] && id != NULL && d->policy_text != NULL && text != NULL) {
            if (strcmp(id, d->sts_id) == 0 && strcmp(text, d->policy_text) != 0)
                chk_add(&d->l, "policy-id-unchanged", CHK_FAIL, d->name,
                        "Change the id in _mta-sts.DOMAIN whenever the policy file changes: senders that cached "
                        "the old policy refetch only on a new id.",
                        "the policy text differs from the check of %s but the id is still %s", day, id);
            else if (strcmp(id, d->sts_id) != 0 && strcmp(text, d->policy_text) == 0)
                chk_add(&d->l, "policy-id-unchanged", CHK_OK, d->name, NULL,
                        "id changed from %.64s (check of %s) to %s; the policy text is the same", id, day, d->sts_id);
            else
                chk_add(&d->l, "policy-id-unchanged", CHK_OK, d->name, NULL, "%s since the check of %s",
                        strcmp(id, d->sts_id) == 0 ? "id and policy text unchanged" : "new id with a new policy",
                        day);
        }
        off += (size_t)snprintf(hist + off, off < sizeof hist ? sizeof hist - off : 0, "%s%s id %.40s %s",
                                off ? "; " : "", day, id ? id : "(none)", worst ? worst : "?");
        if (off >= sizeof hist)
            off = sizeof hist - 1;
    }
    sqlite3_finalize(st);
    if (row > 0)
        chk_add(&d->l, "check-history", CHK_OK, d->name, NULL, "earlier checks: %s", hist);
}

static int store_run(struct dom *d, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    char *js;
    int rc;

    for (size_t i = 0; i < d->l.n; i++) {
        const struct chk_result *r = &d->l.r[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "check", r->code, "status",
                                             chk_status_name(r->status), "subject", r->subject, "detail",
                                             r->detail, "fix", r->fix));
    }
    js = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(arr);
    rc = sqlite3_prepare_v2(db, "INSERT INTO check_run (domain, time, worst, sts_id, policy_text, results) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, d->o->now);
        sqlite3_bind_text(st, 3, chk_status_name(chk_worst(&d->l)), -1, SQLITE_STATIC);
        if (d->sts_id[0])
            sqlite3_bind_text(st, 4, d->sts_id, -1, SQLITE_TRANSIENT);
        if (d->policy_text)
            sqlite3_bind_text(st, 5, d->policy_text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, js ? js : "[]", -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    free(js);
    return rc == SQLITE_OK ? 0 : -1;
}

/* A report's policy-string JSON array joined with LF, parsed. */
static int parse_report_policy(const char *json, struct stspol *p)
{
    json_t *arr = json_loads(json, 0, NULL), *v;
    size_t i;
    struct tr_buf b;
    unsigned char *text;
    size_t len = 0;
    int rc;

    tr_buf_init(&b, STS_BODY_MAX);
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && (tr_buf_append(&b, json_string_value(v), json_string_length(v)) < 0 ||
                                  tr_buf_append(&b, "\n", 1) < 0))
            break;
    }
    json_decref(arr);
    text = tr_buf_steal(&b, &len);
    rc = stspol_parse((const char *)text, len, p);
    free(text);
    tr_buf_free(&b);
    return rc;
}

/* "mode enforce, max_age 86400, mx a b" of a policy, for details. */
static void pol_summary(const struct stspol *p, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "mode %s, max_age %ld, mx", p->mode[0] ? p->mode : "?", p->max_age);
    for (size_t i = 0; i < p->n_mx && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, " %s", p->mx[i]);
}

static int same_policy(const struct stspol *a, const struct stspol *b)
{
    if (strcmp(a->mode, b->mode) != 0 || a->max_age != b->max_age || a->n_mx != b->n_mx)
        return 0;
    for (size_t i = 0; i < a->n_mx; i++) {
        int found = 0;
        for (size_t k = 0; k < b->n_mx && !found; k++)
            found = strcasecmp(a->mx[i], b->mx[k]) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

static void compare_policy_strings(struct dom *d, sqlite3 *db, int64_t since)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
            "SELECT p.policy_strings, min(r.start_time), max(r.end_time), group_concat(DISTINCT r.org_name) "
            "FROM policy p JOIN report r ON r.id = p.report "
            "WHERE p.policy_domain = ?1 COLLATE NOCASE AND p.policy_type = 'sts' AND r.start_time >= ?2 "
            "AND p.policy_strings IS NOT NULL GROUP BY p.policy_strings ORDER BY 3 DESC LIMIT ?3",
            -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int(st, 3, CHK_REPORT_ROWS_MAX);
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct stspol seen;
        char first[RPT_LABEL_MAX], last[RPT_LABEL_MAX], s1[512], s2[512];
        const char *orgs = (const char *)sqlite3_column_text(st, 3);
        parse_report_policy((const char *)sqlite3_column_text(st, 0), &seen);
        day_of(sqlite3_column_int64(st, 1), first);
        day_of(sqlite3_column_int64(st, 2) - 1, last);
        pol_summary(&seen, s1, sizeof s1);
        if (!d->have_pol) {
            chk_add(&d->l, "reports-policy-strings", CHK_WARN, d->name,
                    "Restore the policy file: senders keep their cached copy only until max_age.",
                    "%.200s saw %s from %s to %s; no policy fetches now", orgs ? orgs : "?", s1, first, last);
        } else if (same_policy(&seen, &d->pol)) {
            chk_add(&d->l, "reports-policy-strings", CHK_OK, d->name, NULL,
                    "%.200s saw the live policy (%s) from %s to %s", orgs ? orgs : "?", s1, first, last);
        } else {
            pol_summary(&d->pol, s2, sizeof s2);
            chk_add(&d->l, "reports-policy-strings", CHK_WARN, d->name,
                    "If the live policy is the one you want, make sure its id changed so senders refetch it.",
                    "%.200s saw %s from %s to %s; the live policy has %s (id %s)", orgs ? orgs : "?", s1, first,
                    last, s2, d->sts_id[0] ? d->sts_id : "none");
        }
        stspol_free(&seen);
    }
    sqlite3_finalize(st);
}

/* Whether the failure type is still seen on the MX now: 1 yes, 0 no, -1
 * the probe cannot tell. */
static int still_failing(const struct mxhost *m, const char *type)
{
    const struct smtp_probe *p = &m->probe;
    if (!m->probed || !p->greeted)
        return -1;
    if (strcmp(type, "starttls-not-supported") == 0)
        return !p->starttls;
    if (!p->tls)
        return -1;
    if (strcmp(type, "certificate-expired") == 0)
        return p->expired;
    if (strcmp(type, "certificate-host-mismatch") == 0)
        return !p->name_ok;
    if (strcmp(type, "certificate-not-trusted") == 0)
        return !p->chain_ok;
    if (strcmp(type, "validation-failure") == 0)
        return !m->matched || !p->chain_ok || !p->name_ok || p->expired;
    if (strcmp(type, "tlsa-invalid") == 0)
        return p->tlsa_present && !p->tlsa_match;
    return -1;
}

static void compare_failures(struct dom *d, sqlite3 *db, int64_t since)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
            "SELECT coalesce(f.receiving_mx_hostname, ''), f.result_type, sum(f.failed_sessions), max(r.end_time), "
            "group_concat(DISTINCT r.org_name) FROM failure f JOIN policy p ON p.id = f.policy "
            "JOIN report r ON r.id = p.report WHERE p.policy_domain = ?1 COLLATE NOCASE AND r.start_time >= ?2 "
            "GROUP BY 1, 2 ORDER BY 1, 2 LIMIT ?3", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int(st, 3, CHK_REPORT_ROWS_MAX);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *mx = (const char *)sqlite3_column_text(st, 0), *type = (const char *)sqlite3_column_text(st, 1);
        const char *orgs = (const char *)sqlite3_column_text(st, 4);
        char last[RPT_LABEL_MAX], now[CHK_DETAIL_MAX / 2] = "";
        int64_t n = sqlite3_column_int64(st, 2);
        day_of(sqlite3_column_int64(st, 3) - 1, last);
        if (strncmp(type, "sts-", 4) == 0) {
            int ok = d->policy_fetched && d->policy_usable;
            chk_add(&d->l, "reports-policy-fetch", ok ? CHK_OK : CHK_FAIL, d->name,
                    "Fix the policy fetch (see the policy-* results above).",
                    "%.200s reported %s (%lld sessions) until %s; %s", orgs ? orgs : "?", type, (long long)n, last,
                    ok ? "the policy fetches and parses fine now" : "the policy still fails now");
            continue;
        }
        const struct mxhost *m = NULL;
        for (size_t i = 0; i < d->n_mx && m == NULL; i++)
            if (strcasecmp(d->mx[i].name, mx) == 0)
                m = &d->mx[i];
        if (m == NULL) {
            chk_add(&d->l, "reports-mx-failures", CHK_OK, mx, NULL,
                    "%.200s reported %s on %s (%lld sessions) until %s; %s is no longer an MX of %s",
                    orgs ? orgs : "?", type, mx, (long long)n, last, mx, d->name);
            continue;
        }
        int still = still_failing(m, type);
        if (m->probe.not_after[0])
            snprintf(now, sizeof now, "%s's certificate is %s until %s%s%s", mx,
                     m->probe.chain_ok && m->probe.name_ok && !m->probe.expired ? "valid" : "dated",
                     m->probe.not_after, m->probe.name_ok ? "" : ", wrong name", m->probe.chain_ok ? "" : ", untrusted");
        else
            snprintf(now, sizeof now, "%s %s", mx, m->probe.starttls ? "offers STARTTLS" :
                     m->probe.greeted ? "offers no STARTTLS" : "did not answer");
        chk_add(&d->l, "reports-mx-failures", still == 1 ? CHK_FAIL : still == 0 ? CHK_OK : CHK_WARN, mx,
                "Fix the MX (see its mx-* results); the reports will show when senders succeed.",
                "%.200s reported %s on %s (%lld sessions) until %s; %s: %s", orgs ? orgs : "?", type, mx,
                (long long)n, last, still == 1 ? "still seen now" : still == 0 ? "fixed now" : "not testable now",
                now);
    }
    sqlite3_finalize(st);
}

static void compare_no_policy(struct dom *d, sqlite3 *db, int64_t since)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
            "SELECT count(*), max(r.end_time), group_concat(DISTINCT r.org_name) FROM policy p "
            "JOIN report r ON r.id = p.report WHERE p.policy_domain = ?1 COLLATE NOCASE "
            "AND p.policy_type = 'no-policy-found' AND r.start_time >= ?2", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, since);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0) {
        char last[RPT_LABEL_MAX];
        const char *orgs = (const char *)sqlite3_column_text(st, 2);
        int ok = d->sts_records == 1 && d->policy_fetched && d->policy_usable;
        day_of(sqlite3_column_int64(st, 1) - 1, last);
        chk_add(&d->l, "reports-no-policy", ok ? CHK_OK : CHK_WARN, d->name,
                "Publish the _mta-sts record and the policy file (see the results above).",
                "%.200s found no policy until %s; %s", orgs ? orgs : "?", last,
                ok ? "a policy fetches fine now" : "there is still no usable policy");
    }
    sqlite3_finalize(st);
}

/* ---- one domain, output, the command ---- */

static void check_domain(struct dom *d, sqlite3 *db)
{
    check_sts_record(d);
    check_tlsrpt_record(d);
    check_mx_records(d);
    if (d->resolver_down == 3)
        return;                           /* nothing answered: no point going on */
    if (d->sts_records == 1)
        check_policy(d);
    check_consistency(d);
    check_mx_hosts(d);
    if (db != NULL) {
        int64_t since = rpt_day_start(d->o->now) - (int64_t)CHK_REPORT_DAYS * 86400;
        check_history(d, db);
        compare_policy_strings(d, db, since);
        compare_failures(d, db, since);
        compare_no_policy(d, db, since);
    }
}

static json_t *domain_json(const struct dom *d)
{
    json_t *checks = json_array();
    for (size_t i = 0; i < d->l.n; i++) {
        const struct chk_result *r = &d->l.r[i];
        json_t *o = json_object();
        json_object_set_new(o, "check", json_string(r->code));
        json_object_set_new(o, "status", json_string(chk_status_name(r->status)));
        json_t *det = json_string(r->detail);         /* NULL when not UTF-8 */
        if (det == NULL) {
            char *e = rpt_term_escape(r->detail, strlen(r->detail), 0);
            det = json_string(e);
            free(e);
        }
        json_object_set_new(o, "detail", det ? det : json_string("?"));
        json_object_set_new(o, "fix", r->status == CHK_OK ? json_null() : json_string(r->fix));
        json_object_set_new(o, "subject", json_string(r->subject));
        json_array_append_new(checks, o);
    }
    return json_pack("{s:s, s:s, s:o}", "domain", d->name, "status", chk_status_name(chk_worst(&d->l)),
                     "checks", checks);
}

static int domain_table(struct rpt_out *out, const struct dom *d)
{
    int w = 0;
    w |= rpt_out_printf(out, "%s: %s\n", d->name, chk_status_name(chk_worst(&d->l)));
    for (size_t i = 0; i < d->l.n; i++) {
        const struct chk_result *r = &d->l.r[i];
        char *det = rpt_term_escape(r->detail, strlen(r->detail), 0);
        char *sub = rpt_term_escape(r->subject, strlen(r->subject), 0);
        w |= rpt_out_printf(out, "  %-4s  %-24s %s%s%s\n", chk_status_name(r->status), r->code, sub,
                            sub[0] ? ": " : "", det);
        if (r->status != CHK_OK && r->fix[0])
            w |= rpt_out_printf(out, "        fix: %s\n", r->fix);
        free(det);
        free(sub);
    }
    return w;
}

/* A name check will look up: a host name without a wildcard. */
static int domain_ok(const char *s)
{
    return s[0] != '*' && strlen(s) < 200 && stspol_pattern_valid(s) && strchr(s, '.') != NULL;
}

/* The policy domains with reports in the last CHK_REPORT_DAYS days. */
static size_t report_domains(sqlite3 *db, int64_t since, char **out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT lower(p.policy_domain) FROM policy p JOIN report r ON r.id = p.report "
                               "WHERE r.start_time >= ?1 AND p.policy_domain IS NOT NULL ORDER BY 1",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, since);
    while (sqlite3_step(st) == SQLITE_ROW && n < cap) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        if (s != NULL && domain_ok(s))
            out[n++] = xstrdup(s);
        else if (s != NULL) {
            char *e = rpt_term_escape(s, strlen(s), 0);
            fprintf(stderr, "tlsrpt-report: check: skipping policy domain '%s' (not a host name)\n", e);
            free(e);
        }
    }
    sqlite3_finalize(st);
    return n;
}

int rpt_check_main(const struct rpt_opts *o, const struct chk_opts *co, const char *db_path)
{
    struct tr_db *tdb = NULL;
    struct tr_err err = {0};
    struct dns *dns = NULL;
    char *names[CHK_DOMAINS_MAX];
    size_t n = 0;
    int rc = CHK_EXIT_OK, down = 0;
    sqlite3 *db = NULL;
    json_t *doc = json_array();
    struct rpt_out out;

    for (size_t i = 0; i < o->n_args; i++)
        if (!domain_ok(o->args[i])) {
            fprintf(stderr, "tlsrpt-report: check: '%s' is not a domain name\n", o->args[i]);
            json_decref(doc);
            return CHK_EXIT_USAGE;
        }
    /* A read-write open would create an empty database: not for a
     * path that names nothing (a typo in --db). */
    if (access(db_path, F_OK) < 0 && errno == ENOENT)
        tr_err_set(&err, TR_E_DB, "no database at %s (run tlsrpt-ingest first)", db_path);
    if (err.detail[0] != '\0' || tr_db_open(db_path, 0, &tdb, &err) < 0) {
        fprintf(stderr, "tlsrpt-report: check: %s%s\n", err.detail,
                o->n_args ? " (checks not stored, no comparison with reports)" : "");
        if (o->n_args == 0) {
            json_decref(doc);
            return CHK_EXIT_ERROR;
        }
    } else {
        db = tr_db_handle(tdb);
    }
    if (dns_new(co->resolver, step_timeout(co, CHK_DNS_TIMEOUT_S), &dns, &err) < 0) {
        fprintf(stderr, "tlsrpt-report: check: %s\n", err.detail);
        tr_db_close(tdb);
        json_decref(doc);
        return tr_err_is(&err, TR_E_USAGE) ? CHK_EXIT_USAGE : CHK_EXIT_RESOLVER;
    }
    if (o->n_args > 0)
        for (size_t i = 0; i < o->n_args && n < CHK_DOMAINS_MAX; i++)
            names[n++] = xstrdup(o->args[i]);
    else
        n = report_domains(db, rpt_day_start(co->now) - (int64_t)CHK_REPORT_DAYS * 86400, names, CHK_DOMAINS_MAX);
    if (n == 0 && o->n_args == 0)
        fprintf(stderr, "tlsrpt-report: check: no policy domain has reports in the last %d days\n", CHK_REPORT_DAYS);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rpt_out_init(&out, stdout, o->format);
    for (size_t i = 0; i < n; i++) {
        struct dom *d = xcalloc(1, sizeof *d);
        for (char *p = names[i]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        d->name = names[i];
        d->o = co;
        d->dns = dns;
        check_domain(d, db);
        if (d->resolver_down == 3)
            down++;
        if (db != NULL && store_run(d, db) < 0)
            fprintf(stderr, "tlsrpt-report: check: %s: storing the check failed: %s\n", d->name, sqlite3_errmsg(db));
        enum chk_status w = chk_worst(&d->l);
        if ((int)w > rc)
            rc = (int)w;
        if (o->format == RPT_FMT_JSON)
            json_array_append_new(doc, domain_json(d));
        else if (domain_table(&out, d) != 0 || (i + 1 < n && rpt_out_printf(&out, "\n") != 0))
            rc = CHK_EXIT_ERROR;
        chk_list_free(&d->l);
        stspol_free(&d->pol);
        free(d->policy_text);
        free(d);
    }
    if (o->format == RPT_FMT_JSON) {
        json_t *top = json_pack("{s:o}", "domains", doc);
        if (rpt_out_json(&out, top) != 0)
            rc = CHK_EXIT_ERROR;
        json_decref(top);
    } else {
        json_decref(doc);
    }
    if (down > 0 && (size_t)down == n) {
        fprintf(stderr, "tlsrpt-report: check: the resolver answered no query\n");
        rc = CHK_EXIT_RESOLVER;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    curl_global_cleanup();
    dns_free(dns);
    tr_db_close(tdb);
    return rc;
}
