/*
 * findings_capture.c - the findings about the reports' arrival rather
 * than their content: reporters that went silent, a capture pipeline that
 * stopped storing reports, new quarantine entries.  Rules and codes in
 * tlsrpt-report(1), FINDINGS; the shared state in findings_int.h.
 */
#include "findings_int.h"
#include "sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The capture pipeline's last stored report is the latest received_time
 * of this many most recently inserted reports (received_time has no
 * index; reports are inserted about in the order they arrive). */
#define FIND_RECENT_REPORTS 1000
/* A silent reporter reported on more than half of this many days before
 * its silence. */
#define FIND_SILENT_LOOKBACK 14

/* ---------------------------------------------------------------- reporters */

/* reporter-silent: an (organization, domain) that reported on more than
 * half of the FIND_SILENT_LOOKBACK days before the last silent_days days
 * of the window, and on none of those (whatever the window's length: the
 * email's window is one day).  Not when the capture pipeline stopped
 * (that is the cause then). */
int fr_reporter_rules(struct fb *b, struct tr_err *err)
{
    static const enum rpt_key k_odd[] = {RPT_K_ORG, RPT_K_DOMAIN, RPT_K_DAY};
    struct rpt_table *t;
    struct rpt_scope s = b->win;
    int64_t end = rpt_day_start(b->win.until), quiet = end - (int64_t)b->fo->silent_days * 86400;
    int64_t ref_days = FIND_SILENT_LOOKBACK, ref_since = quiet - ref_days * 86400;
    struct fmap pairs = {0};
    struct pair { const char *org, *dom; int64_t days, last, recent; } *v;
    size_t n = 0;

    if (b->f->pipeline_stopped || b->fo->silent_days <= 0)
        return 0;
    s.since = ref_since;
    s.until = end;
    t = rpt_table_new();
    if (rpt_q_sessions(b->db, &s, k_odd, 3, t, err) < 0) {
        rpt_table_free(t);
        return -1;
    }
    v = xcalloc(t->nrows ? t->nrows : 1, sizeof *v);
    for (size_t r = 0; r < t->nrows; r++) {
        char *k = fmap_key3(fb_cell_text(t, r, 0), fb_cell_text(t, r, 1), "");
        size_t i = fmap_get(&pairs, k);
        int64_t day = fb_cell_int(t, r, 2);
        if (i == (size_t)-1) {
            i = n++;
            v[i].org = fb_cell_text(t, r, 0);
            v[i].dom = fb_cell_text(t, r, 1);
            v[i].last = -1;
            fmap_put(&pairs, k, i);
        }
        free(k);
        if (fb_cell_int(t, r, 3) <= 0)
            continue;
        if (day >= quiet)
            v[i].recent = 1;
        else
            v[i].days++;
        if (day > v[i].last)
            v[i].last = day;
    }
    for (size_t i = 0; i < n; i++) {
        struct rpt_finding *x;
        char d1[RPT_LABEL_MAX], d2[RPT_LABEL_MAX], d3[RPT_LABEL_MAX];
        if (v[i].recent || 2 * v[i].days <= ref_days)
            continue;
        x = fb_add(b, "reporter-silent", RPT_SEV_WARNING, v[i].dom);
        x->orgs = xstrdup(v[i].org);
        x->last_day = v[i].last;
        fb_date(ref_since, d1);
        fb_date(quiet - 86400, d2);
        fb_date(v[i].last, d3);
        x->evidence = xasprintf("%s reported on %lld of the %lld days from %s to %s, and on none of the last %d "
                                "days; its last report covers %s.", v[i].org, (long long)v[i].days,
                                (long long)ref_days, d1, d2, b->fo->silent_days, d3);
        x->meaning = xstrdup("A sender that reported almost daily stopped: its reports may be lost on the way "
                             "(the rua address, the mail route, the milter or httpd), or it sent no mail to "
                             "the domain.");
        x->fix = xasprintf("Check that reports from %s still reach the rua address of _smtp._tls.%s (mail logs, "
                           "tlsrpt-report quarantine).", v[i].org, v[i].dom);
    }
    free(v);
    fmap_free(&pairs);
    rpt_table_free(t);
    return 0;
}

/* ---------------------------------------------------------------- the capture pipeline */

/* capture-stopped: no report stored for stopped_days days up to now,
 * when reports were stored before; about the whole database, whatever the
 * filters.  quarantine-new: inputs quarantined (first seen) in the window
 * and not resolved, per reason; only without --domain, --org, --mx and
 * --type. */
int fr_pipeline_rules(struct fb *b, struct tr_err *err)
{
    struct rpt_table *t = rpt_table_new();
    struct rpt_sql q;
    int rc;

    rpt_table_add_col(t, "last", RPT_S_TEXT);
    rpt_table_add_col(t, "quarantined", RPT_S_TEXT);
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT (SELECT MAX(received_time) FROM (SELECT received_time FROM report"
                    " ORDER BY id DESC LIMIT ?)), (SELECT MAX(last_seen) FROM quarantine)");
    rpt_sql_bind_int(&q, FIND_RECENT_REPORTS);
    rc = rpt_sql_run(b->db, &q, t, err);
    rpt_sql_free(&q);
    if (rc == 0 && t->nrows == 1 && rpt_table_cell(t, 0, 0)->kind == RPT_INT && b->fo->stopped_days > 0) {
        int64_t last = fb_cell_int(t, 0, 0), qlast = rpt_table_cell(t, 0, 1)->kind == RPT_INT ? fb_cell_int(t, 0, 1) : -1;
        if (b->now - last >= (int64_t)b->fo->stopped_days * 86400) {
            struct rpt_finding *x = fb_add(b, "capture-stopped", RPT_SEV_CRITICAL, NULL);
            char a[RPT_LABEL_MAX], n[RPT_LABEL_MAX], qa[RPT_LABEL_MAX];
            rpt_fmt_datetime(last, a);
            rpt_fmt_datetime(b->now, n);
            if (qlast >= 0)
                rpt_fmt_datetime(qlast, qa);
            x->last_day = rpt_day_start(last);
            x->evidence = xasprintf("The last report was stored at %s, %lld day(s) before %s%s%s.", a,
                                    (long long)((b->now - last) / 86400), n,
                                    qlast > last ? "; inputs were quarantined since, the last at " : "",
                                    qlast > last ? qa : "");
            x->meaning = xasprintf("No report has been stored for %d days or more: the capture pipeline (the rua "
                                   "mailbox or URL, the milter or httpd, the drain into the database) has "
                                   "stopped, so a quiet report is not a clean one.", b->fo->stopped_days);
            x->fix = xstrdup("Check that the milter or httpd runs and drains its spool (tlsrpt-report metrics, "
                             "the spool's new/ and failed/), that mail to the rua address reaches it, and "
                             "tlsrpt-report quarantine.");
            b->f->pipeline_stopped = 1;
        }
    }
    rpt_table_free(t);
    if (rc < 0)
        return -1;

    /* A quarantined input has no parsed domain or organization to filter
     * by: only without filters. */
    if (b->win.f->domain.n || b->win.f->org.n || b->win.f->mx.n || b->win.f->type.n)
        return 0;
    t = rpt_table_new();
    rpt_table_add_col(t, "reason", RPT_S_TEXT);
    rpt_table_add_col(t, "n", RPT_S_COUNT);
    rpt_table_add_col(t, "seen", RPT_S_COUNT);
    rpt_table_add_col(t, "first", RPT_S_COUNT);
    rpt_table_add_col(t, "last", RPT_S_COUNT);
    rpt_table_add_col(t, "submitters", RPT_S_TEXT);
    rpt_sql_init(&q);
    rpt_sql_add(&q, "SELECT reason, COUNT(*), SUM(times_seen), MIN(first_seen), MAX(last_seen),"
                    " group_concat(DISTINCT hdr_report_submitter) FROM quarantine"
                    " WHERE first_seen >= ? AND first_seen < ? AND resolved_time IS NULL"
                    " GROUP BY reason ORDER BY reason");
    rpt_sql_bind_int(&q, b->win.since);
    rpt_sql_bind_int(&q, b->win.until);
    rc = rpt_sql_run(b->db, &q, t, err);
    rpt_sql_free(&q);
    for (size_t r = 0; rc == 0 && r < t->nrows; r++) {
        struct rpt_finding *x = fb_add(b, "quarantine-new", RPT_SEV_WARNING, NULL);
        x->type = xstrdup(fb_cell_text(t, r, 0));
        x->reasons = xstrdup(fb_cell_text(t, r, 0));
        x->orgs = rpt_table_cell(t, r, 5)->kind == RPT_TEXT ? xstrdup(fb_cell_text(t, r, 5)) : NULL;
        x->first_day = rpt_day_start(fb_cell_int(t, r, 3));
        x->last_day = rpt_day_start(fb_cell_int(t, r, 4));
        x->evidence = xasprintf("%lld input(s) quarantined as %s in the window (seen %lld time(s)); "
                                "tlsrpt-report quarantine lists them.", (long long)fb_cell_int(t, r, 1),
                                fb_cell_text(t, r, 0), (long long)fb_cell_int(t, r, 2));
        x->meaning = xstrdup("Inputs arrived that could not be stored as reports: whatever they report is missing "
                             "from every count.");
        x->fix = xstrdup("Look at each with tlsrpt-report quarantine show ID; when the sender's report was "
                         "valid after all, store it with tlsrpt-ingest --retry-quarantine after the fix.");
    }
    rpt_table_free(t);
    return rc;
}
