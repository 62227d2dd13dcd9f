/*
 * findings_live.c - what the live check (`tlsrpt-report check`, stored in
 * table check_run, schema/009-checks.sql) saw, as findings: per domain
 * the newest run within --check-days before now, its failed and warned
 * checks with their subject, detail and fix (live-check-failed), or a
 * note when its stored results cannot be read (live-check-unreadable);
 * and, on the report-based diagnoses of the same domain (and MX), whether
 * the live check still sees the problem or passed it.
 *
 * The results column is JSON this program wrote, but perhaps an older
 * version or another hand did: it is read with jansson up to named
 * limits, and anything not of the expected shape is skipped and counted.
 * Every string kept is valid UTF-8 (jansson checks) and is escaped by the
 * writers of findings, as any report string.
 */
#include "findings_int.h"
#include "sql.h"
#include "tlsrpt/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest results column parsed (a check stores at most 256 results of a
 * few KiB); a longer one is not read, and said so. */
#define FIND_LIVE_RESULTS_MAX ((size_t)1 << 20)
/* Results read of one run (check's own cap, CHK_RESULTS_MAX); the rest
 * are counted. */
#define FIND_LIVE_ITEMS_MAX 256
/* Bytes kept of one string of a result (check, subject, detail, fix);
 * longer ones are cut at a character boundary and end in "...". */
#define FIND_LIVE_FIELD_MAX 1024
/* Domains whose newest run is read (a finding each at most). */
#define FIND_LIVE_DOMAINS_MAX RPT_FIND_MAX

/* One result of a stored run; strings owned, never NULL. */
struct live_item {
    char *check, *subject, *detail, *fix;
    enum rpt_severity sev;        /* ok: RPT_SEV_NONE, warn, fail: critical */
};

/* The newest run of a domain. */
struct live_run {
    const char *domain;           /* borrowed from the statement's row */
    int64_t time;
    enum rpt_severity worst;      /* its worst column; RPT_SEV_INFO when unknown */
    struct live_item *v;
    size_t n;
    size_t skipped;               /* results not of the expected shape, or past the cap */
    char *unreadable;             /* why the results were not read, or NULL */
};

/* ---------------------------------------------------------------- reading a run */

static enum rpt_severity status_sev(const char *s, int *known)
{
    *known = 1;
    if (s != NULL && strcmp(s, "fail") == 0)
        return RPT_SEV_CRITICAL;
    if (s != NULL && strcmp(s, "warn") == 0)
        return RPT_SEV_WARNING;
    if (s != NULL && strcmp(s, "ok") == 0)
        return RPT_SEV_NONE;
    *known = 0;
    return RPT_SEV_NONE;
}

/* A copy of s cut to FIND_LIVE_FIELD_MAX bytes at a UTF-8 character
 * boundary ("" for NULL). */
static char *field_copy(const char *s)
{
    size_t n;
    if (s == NULL)
        return xstrdup("");
    n = strlen(s);
    if (n <= FIND_LIVE_FIELD_MAX)
        return xstrdup(s);
    n = FIND_LIVE_FIELD_MAX - 3;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return xasprintf("%.*s...", (int)n, s);
}

static const char *obj_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));   /* NULL unless a string */
}

/* The results JSON (len bytes) into r; what cannot be read is noted. */
static void parse_results(struct live_run *r, const char *js, size_t len)
{
    json_error_t jerr;
    json_t *arr = json_loadb(js, len, 0, &jerr), *o;
    size_t i;

    if (!json_is_array(arr)) {
        r->unreadable = arr == NULL ? xasprintf("not JSON (line %d, column %d)", jerr.line, jerr.column)
                                    : xstrdup("not a JSON array");
        json_decref(arr);
        return;
    }
    r->v = xcalloc(json_array_size(arr) < FIND_LIVE_ITEMS_MAX ? json_array_size(arr) + 1 : FIND_LIVE_ITEMS_MAX,
                   sizeof *r->v);
    json_array_foreach(arr, i, o) {
        const char *check = obj_str(o, "check"), *status = obj_str(o, "status");
        struct live_item *x;
        int known;
        enum rpt_severity sev = status_sev(status, &known);
        if (r->n == FIND_LIVE_ITEMS_MAX || check == NULL || check[0] == '\0' || !known) {
            r->skipped++;
            continue;
        }
        x = &r->v[r->n++];
        x->check = field_copy(check);
        x->subject = field_copy(obj_str(o, "subject"));
        x->detail = field_copy(obj_str(o, "detail"));
        x->fix = field_copy(obj_str(o, "fix"));
        x->sev = sev;
    }
    json_decref(arr);
}

static void run_free(struct live_run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].check);
        free(r->v[i].subject);
        free(r->v[i].detail);
        free(r->v[i].fix);
    }
    free(r->v);
    free(r->unreadable);
}

/* ---------------------------------------------------------------- agreement with the reports */

/* The checks that test what a report-based diagnosis (by its code) is
 * about; per_mx: only those whose subject is the finding's MX.  A check
 * at or above still_at (warn or fail) means the problem is still there. */
static const struct {
    const char *code;
    const char *checks[7];
    int per_mx;
    enum rpt_severity still_at;
} agree[] = {
    {"sts-policy-fetch-error", {"policy-fetch", "policy-webpki", NULL}, 0, RPT_SEV_CRITICAL},
    {"sts-webpki-invalid", {"policy-webpki", "policy-fetch", NULL}, 0, RPT_SEV_CRITICAL},
    {"sts-policy-invalid",
     {"policy-syntax", "policy-version", "policy-mode", "policy-max-age", "policy-mx-syntax", "policy-fetch", NULL},
     0, RPT_SEV_CRITICAL},
    {"starttls-not-supported", {"mx-starttls", NULL}, 1, RPT_SEV_CRITICAL},
    {"certificate-expired", {"mx-cert-expiry", NULL}, 1, RPT_SEV_CRITICAL},
    {"certificate-host-mismatch", {"mx-cert-name", NULL}, 1, RPT_SEV_CRITICAL},
    {"certificate-not-trusted", {"mx-cert-chain", NULL}, 1, RPT_SEV_CRITICAL},
    {"mx-not-in-policy", {"policy-mx-missing", NULL}, 1, RPT_SEV_WARNING},
};

static void append_evidence(struct rpt_finding *x, const char *note)
{
    char *e = x->evidence ? xasprintf("%s %s", x->evidence, note) : xstrdup(note);
    free(x->evidence);
    x->evidence = e;
}

/* Says on x what the run's checks of the same thing found: still seen
 * (the first such check at still_at or above), or passed (the first one
 * found, in the order of the table), with "fixed since?" when the check
 * ran after the last day the reports show the problem. */
static void agreement_note(struct rpt_finding *x, const struct live_run *r, const char *when)
{
    const struct live_item *still = NULL, *passed = NULL;
    size_t k;
    char day[RPT_LABEL_MAX];
    char *note;

    for (k = 0; k < sizeof agree / sizeof agree[0] && strcmp(agree[k].code, x->code) != 0; k++)
        ;
    if (k == sizeof agree / sizeof agree[0] || (agree[k].per_mx && x->mx == NULL))
        return;
    for (size_t c = 0; agree[k].checks[c] != NULL; c++)
        for (size_t i = 0; i < r->n; i++) {
            const struct live_item *it = &r->v[i];
            if (strcmp(it->check, agree[k].checks[c]) != 0 || (agree[k].per_mx && strcasecmp(it->subject, x->mx) != 0))
                continue;
            if (it->sev >= agree[k].still_at) {
                if (still == NULL)
                    still = it;
            } else if (passed == NULL) {
                passed = it;
            }
        }
    if (still != NULL) {
        note = xasprintf("The live check of %s agrees: %s %s (%s).", when, still->check,
                         still->sev == RPT_SEV_CRITICAL ? "fails" : "warns", still->detail);
    } else if (passed == NULL) {
        return;                   /* the check did not get that far: it cannot tell */
    } else if (x->last_day >= 0 && r->time < x->last_day + 86400) {
        fb_date(x->last_day, day);
        note = xasprintf("The live check of %s passed %s (%s), but senders still reported this on %s, the day of "
                         "the check or later.", when, passed->check, passed->detail, day);
    } else {
        note = xasprintf("The live check of %s passed %s (%s): fixed since?", when, passed->check, passed->detail);
    }
    append_evidence(x, note);
    free(note);
}

/* ---------------------------------------------------------------- the finding of a run */

/* A warning about the policy's mode (testing, none): the reports' own rules
 * (mode-testing-ready, mode-testing-failures, mode-none) say that, as info;
 * a domain left in testing on purpose must not keep findings at warning. */
static int mode_warning(const struct live_item *it)
{
    return it->sev == RPT_SEV_WARNING && strcmp(it->check, "policy-mode") == 0;
}

/* The live-check finding of r, and the agreement notes on the first
 * n_reports findings (those from the reports). */
static void live_finding(struct fb *b, struct live_run *r, size_t n_reports)
{
    /* The stored worst column counts only when the results say nothing. */
    enum rpt_severity sev = (r->unreadable != NULL || r->n == 0) && r->worst != RPT_SEV_INFO ? r->worst
                                                                                            : RPT_SEV_NONE;
    struct fnames seen = {0}, fixes = {0};
    size_t n_fail = 0, n_warn = 0;
    int64_t last_problem = -1;
    char when[RPT_LABEL_MAX], day[RPT_LABEL_MAX];
    struct rpt_finding *x;
    struct tr_buf e;

    rpt_fmt_datetime(r->time, when);
    for (size_t i = 0; i < n_reports; i++) {
        struct rpt_finding *f = &b->f->v[i];
        if (f->domain == NULL || strcasecmp(f->domain, r->domain) != 0)
            continue;
        agreement_note(f, r, when);
        if (f->severity >= RPT_SEV_WARNING && f->last_day > last_problem)
            last_problem = f->last_day;
    }

    for (size_t i = 0; i < r->n; i++) {
        const struct live_item *it = &r->v[i];
        char *line;
        if (it->sev < RPT_SEV_WARNING || mode_warning(it))
            continue;
        n_fail += it->sev == RPT_SEV_CRITICAL;
        n_warn += it->sev == RPT_SEV_WARNING;
        if (it->sev > sev)
            sev = it->sev;
        line = xasprintf("%s %s%s%s%s%s%s", it->sev == RPT_SEV_CRITICAL ? "fail" : "warn", it->check,
                         it->subject[0] ? " (" : "", it->subject, it->subject[0] ? ")" : "",
                         it->detail[0] ? ": " : "", it->detail);
        fnames_add(&seen, line);
        free(line);
        if (it->fix[0]) {
            line = xasprintf("%s: %s", it->check, it->fix);
            fnames_add(&fixes, line);
            free(line);
        }
    }
    if (sev == RPT_SEV_NONE && r->unreadable == NULL)
        goto done;

    x = fb_add(b, sev == RPT_SEV_NONE ? "live-check-unreadable" : "live-check-failed",
               sev == RPT_SEV_NONE ? RPT_SEV_INFO : sev, r->domain);
    x->last_day = rpt_day_start(r->time);
    tr_buf_init(&e, FIND_TEXT_MAX);
    if (r->unreadable != NULL)
        tr_buf_printf(&e, "Live check of %s: its stored results could not be read (%s); its worst status was %s.",
                      when, r->unreadable,
                      r->worst == RPT_SEV_CRITICAL ? "fail" : r->worst == RPT_SEV_WARNING ? "warn"
                                                            : r->worst == RPT_SEV_NONE ? "ok" : "unknown");
    else
        tr_buf_printf(&e, "Live check of %s: %zu failed and %zu warned of %zu checks read.", when, n_fail, n_warn,
                      r->n);
    if (r->skipped > 0)
        tr_buf_printf(&e, " %zu more results skipped (not of the expected form, or past %d).", r->skipped,
                      FIND_LIVE_ITEMS_MAX);
    if (seen.n > 0) {
        char *list = fnames_join(&seen, "; ");
        tr_buf_printf(&e, " %s.", list);
        free(list);
    }
    if (last_problem >= 0 && r->time < last_problem + 86400) {
        fb_date(last_problem, day);
        tr_buf_printf(&e, " The check ran before the end of %s, the last day with a problem in the reports.", day);
    }
    x->evidence = fb_buf_text(&e);
    if (sev == RPT_SEV_NONE) {
        x->meaning = xstrdup("The stored results of the latest live check cannot be read (written by another version, "
                             "or damaged): what it found is unknown.");
        x->fix = xasprintf("Run 'tlsrpt-report check %s' again.", r->domain);
    } else {
        x->meaning = xasprintf("The latest live check (tlsrpt-report check) of the published MTA-STS and TLS-RPT "
                               "setup, as a sender sees it, found %s.",
                               sev == RPT_SEV_CRITICAL ? "failures: senders may not deliver, or not securely"
                                                       : "warnings");
        if (fixes.n > 0) {
            char *list = fnames_join(&fixes, " ");
            x->fix = xasprintf("%s Then run 'tlsrpt-report check %s' again.", list, r->domain);
            free(list);
        } else {
            x->fix = xasprintf("Run 'tlsrpt-report check %s' for the details, fix what fails, and check again.",
                               r->domain);
        }
    }
done:
    fnames_free(&seen);
    fnames_free(&fixes);
}

/* ---------------------------------------------------------------- the rule */

static int have_check_table(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'check_run'", -1, &st,
                           NULL) == SQLITE_OK)
        found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

int fl_live_rules(struct fb *b, struct tr_err *err)
{
    const struct rpt_filters *f = b->win.f;
    int64_t lo = b->now - (int64_t)b->fo->check_days * 86400;
    size_t n_reports = b->f->n;
    struct rpt_sql q;
    sqlite3_stmt *st = NULL;
    int rc;

    if (b->fo->check_days <= 0 || !have_check_table(b->db))
        return 0;
    /* Per domain its newest run in [now - check_days, now]; the results
     * only when short enough to read. */
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT c.domain, c.time, c.worst,"
                    " CASE WHEN length(CAST(c.results AS BLOB)) <= ? THEN CAST(c.results AS TEXT) END,"
                    " length(CAST(c.results AS BLOB))"
                    " FROM check_run c WHERE c.time >= ? AND c.time <= ?"
                    " AND c.id = (SELECT c2.id FROM check_run c2 WHERE c2.domain = c.domain"
                    " AND c2.time >= ? AND c2.time <= ? ORDER BY c2.time DESC, c2.id DESC LIMIT 1)");
    rpt_sql_bind_int(&q, (int64_t)FIND_LIVE_RESULTS_MAX);
    rpt_sql_bind_int(&q, lo);
    rpt_sql_bind_int(&q, b->now);
    rpt_sql_bind_int(&q, lo);
    rpt_sql_bind_int(&q, b->now);
    rpt_sql_filter(&q, "c.domain", &f->domain);
    /* A check is not about an organization: with --org, the domains
     * those organizations reported on in the window. */
    if (f->org.n > 0) {
        rpt_sql_add(&q, " AND lower(c.domain) IN (SELECT lower(p.policy_domain) FROM report r"
                        " JOIN policy p ON p.report = r.id");
        rpt_q_report_where(&q, &b->win, b->win.since, b->win.until);
        rpt_sql_add(&q, ")");
    }
    rpt_sql_add(&q, " ORDER BY c.domain LIMIT ?");
    rpt_sql_bind_int(&q, FIND_LIVE_DOMAINS_MAX);
    rc = rpt_sql_prepare(b->db, &q, &st, err);
    rpt_sql_free(&q);
    if (rc < 0)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *dom = (const char *)sqlite3_column_text(st, 0);
        const char *worst = (const char *)sqlite3_column_text(st, 2);
        const char *js = (const char *)sqlite3_column_text(st, 3);
        struct live_run r;
        int known;

        if (dom == NULL || dom[0] == '\0')
            continue;
        memset(&r, 0, sizeof r);
        r.domain = dom;
        r.time = sqlite3_column_int64(st, 1);
        r.worst = status_sev(worst, &known);
        if (!known)
            r.worst = RPT_SEV_INFO;
        if (js != NULL)
            parse_results(&r, js, (size_t)sqlite3_column_bytes(st, 3));
        else if (sqlite3_column_type(st, 4) == SQLITE_NULL)
            r.unreadable = xstrdup("no results stored");
        else
            r.unreadable = xasprintf("%lld bytes, over the limit of %zu", (long long)sqlite3_column_int64(st, 4),
                                     FIND_LIVE_RESULTS_MAX);
        live_finding(b, &r, n_reports);
        run_free(&r);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tr_err_set(err, TR_E_DB, "reading check_run: %s", sqlite3_errmsg(b->db));
        return -1;
    }
    return 0;
}
