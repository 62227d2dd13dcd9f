/*
 * html.c - the text/html body of the summary email.
 *
 * One self-contained document built for mail clients: layout tables,
 * inline styles only (no <style>, no scripts, no SVG, no images, no remote
 * anything), bars drawn as table cells (mailhtml.h, which also escapes
 * every report string; domain and MX names wrap only after a dot).
 *
 * First comes "What needs attention" (the findings, findings.h) and the
 * sessions and failures per day of the findings' window (attention.c),
 * then the period's tables, domains worst first.
 */
#include "digest.h"
#include "mailhtml.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Largest HTML body; a digest is far smaller, this only bounds a runaway. */
#define RPT_HTML_MAX ((size_t)16 << 20)

static void domains(struct tr_buf *b, const struct rpt_digest *d)
{
    rpt_html_section(b, "TLS success rate by policy domain, worst first");
    if (d->n_domains == 0) {
        rpt_html_put(b, "<tr><td style=\"padding:4px 24px;" FONT "font-size:13px;color:" C_MUTED ";\">"
               "No reports in this period.</td></tr>");
        return;
    }
    rpt_html_table_open(b);
    rpt_html_put(b, "<tr>");
    rpt_html_th(b, "Domain", 0); rpt_html_th(b, "Sessions", 1); rpt_html_th(b, "Failed", 1);
    rpt_html_th(b, "TLS", 1); rpt_html_th(b, "", 0);
    rpt_html_th(b, "Before", 1);
    rpt_html_put(b, "</tr>");
    for (size_t i = 0; i < d->n_domains; i++) {
        const struct rpt_digest_domain *e = &d->domains[i];
        double now = rpt_success_rate(e->ok, e->bad), before = rpt_success_rate(e->prev_ok, e->prev_bad);
        rpt_html_put(b, "<tr>");
        rpt_html_td_open(b, 0);
        rpt_html_esc_dns(b, e->domain);
        rpt_html_put(b, "</td>");
        rpt_html_td_count(b, e->ok + e->bad);
        rpt_html_td_open(b, 1);
        rpt_html_put(b, "<span style=\"color:%s;font-weight:%s;\">", e->bad ? C_BAD : "#111827",
                     e->bad ? "600" : "400");
        {
            char num[RPT_NUM_MAX];
            rpt_html_put(b, "%s</span></td>", rpt_fmt_count(e->bad, num));
        }
        rpt_html_td_open(b, 1);
        if (now >= 0)
            rpt_html_put(b, "%.2f%%</td>", now);
        else
            rpt_html_put(b, "&ndash;</td>");
        rpt_html_bar_cell(b, 100);
        rpt_html_bar(b, now >= 0 ? now : 0, e->bad ? "#f59e0b" : C_OK, 0);
        rpt_html_put(b, "</td>");
        rpt_html_td_open(b, 1);
        if (before < 0)
            rpt_html_put(b, "<span style=\"color:" C_MUTED ";\">&ndash;</span>");
        else if (now >= 0)
            rpt_html_put(b, "%.2f%% <span style=\"color:%s;\">%s%.2fpp</span>", before,
                now < before ? C_BAD : (now > before ? C_OK : C_MUTED),
                now < before ? "&#9660;" : (now > before ? "&#9650;" : "&plusmn;"), fabs(now - before));
        else
            rpt_html_put(b, "%.2f%%", before);
        rpt_html_put(b, "</td></tr>");
    }
    rpt_html_put(b, "</table></td></tr>");
}

static void failures(struct tr_buf *b, const struct rpt_digest *d)
{
    const struct rpt_table *t = d->failures;
    int64_t max = 0;
    size_t n = t->nrows < RPT_DIGEST_MAX_ROWS ? t->nrows : RPT_DIGEST_MAX_ROWS;

    rpt_html_section(b, "Failures by type, sending organization and MX");
    if (t->nrows == 0) {
        rpt_html_put(b, "<tr><td style=\"padding:4px 24px;" FONT "font-size:13px;color:" C_OK ";\">"
               "No failures reported.</td></tr>");
        return;
    }
    for (size_t r = 0; r < n; r++)
        if (rpt_table_cell(t, r, 3)->i > max)
            max = rpt_table_cell(t, r, 3)->i;
    rpt_html_table_open(b);
    rpt_html_put(b, "<tr>");
    rpt_html_th(b, "Failure type", 0); rpt_html_th(b, "Sending organization", 0); rpt_html_th(b, "MX", 0);
    rpt_html_th(b, "Sessions", 1);
    rpt_html_th(b, "", 0);
    rpt_html_put(b, "</tr>");
    for (size_t r = 0; r < n; r++) {
        rpt_html_put(b, "<tr>");
        for (size_t c = 0; c < 3; c++) {
            rpt_html_td_open(b, 0);
            if (c == 0)       /* a failure type is kept on one line */
                rpt_html_put(b, "<span style=\"color:" C_BAD ";white-space:nowrap;\">");
            if (c == 2)
                rpt_html_esc_dns(b, rpt_table_cell(t, r, c)->s);
            else
                rpt_html_esc(b, rpt_table_cell(t, r, c)->s);
            rpt_html_put(b, c == 0 ? "</span></td>" : "</td>");
        }
        rpt_html_td_count(b, rpt_table_cell(t, r, 3)->i);
        rpt_html_bar_cell(b, 60);
        rpt_html_bar(b, max ? (double)rpt_table_cell(t, r, 3)->i * 100.0 / (double)max : 0, C_BAD, 0);
        rpt_html_put(b, "</td></tr>");
    }
    rpt_html_put(b, "</table></td></tr>");
    if (t->nrows > n)
        rpt_html_put(b, "<tr><td style=\"padding:0 24px 8px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
               "&hellip; and %zu more rows</td></tr>", t->nrows - n);
}

/* A comma-separated list of column 0 of t, or "none"; dns: DNS names. */
static void name_list(struct tr_buf *b, const char *label, const struct rpt_table *t, int dns)
{
    rpt_html_put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;color:#111827;\">"
           "<span style=\"color:" C_MUTED ";\">%s:</span> ", label);
    for (size_t r = 0; r < t->nrows; r++) {
        rpt_html_put(b, "%s<b>", r ? ", " : "");
        if (dns)
            rpt_html_esc_dns(b, rpt_table_cell(t, r, 0)->s);
        else
            rpt_html_esc(b, rpt_table_cell(t, r, 0)->s);
        rpt_html_put(b, "</b>");
    }
    rpt_html_put(b, "%s</td></tr>", t->nrows ? "" : "none");
}

static void silent(struct tr_buf *b, const struct rpt_digest *d)
{
    rpt_html_section(b, "Reporters gone silent");
    rpt_html_put(b, "<tr><td style=\"padding:0 24px 4px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
           "Reported in the previous period, not in this one.</td></tr>");
    if (d->silent->nrows == 0) {
        rpt_html_put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;\">None.</td></tr>");
        return;
    }
    for (size_t r = 0; r < d->silent->nrows; r++) {
        rpt_html_put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;\">");
        rpt_html_esc(b, rpt_table_cell(d->silent, r, 0)->s);
        rpt_html_put(b, " <span style=\"color:" C_MUTED ";\">for</span> ");
        rpt_html_esc_dns(b, rpt_table_cell(d->silent, r, 1)->s);
        rpt_html_put(b, "</td></tr>");
    }
}

static void policies(struct tr_buf *b, const struct rpt_digest *d)
{
    rpt_html_section(b, "Policies reported");
    if (d->policies->nrows == 0)
        rpt_html_put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;\">None.</td></tr>");
    for (size_t r = 0; r < d->policies->nrows; r++) {
        const struct rpt_cell *lines = rpt_table_cell(d->policies, r, 2);
        char num[RPT_NUM_MAX];
        rpt_html_put(b, "<tr><td style=\"padding:6px 24px 2px 24px;" FONT "font-size:13px;\"><b>");
        rpt_html_esc_dns(b, rpt_table_cell(d->policies, r, 0)->s);
        rpt_html_put(b, "</b> ");
        rpt_html_esc(b, rpt_table_cell(d->policies, r, 1)->s);
        rpt_html_put(b, " <span style=\"color:" C_MUTED ";\">&middot; %s report%s from ",
            rpt_fmt_count(rpt_table_cell(d->policies, r, 3)->i, num),
            rpt_table_cell(d->policies, r, 3)->i == 1 ? "" : "s");
        rpt_html_esc(b, rpt_table_cell(d->policies, r, 4)->s);
        rpt_html_put(b, "</span></td></tr><tr><td style=\"padding:2px 24px 6px 24px;\">"
               "<pre style=\"margin:0;padding:8px 10px;background:#f9fafb;border:1px solid " C_LINE ";"
               "border-radius:4px;font-family:Menlo,Consolas,monospace;font-size:12px;"
               "white-space:pre-wrap;overflow-wrap:anywhere;color:#111827;\">");
        if (lines->kind == RPT_TEXT)
            rpt_html_esc_prose_safe(b, rpt_lines_escape(lines->s));
        else
            rpt_html_put(b, "(no policy string)");
        rpt_html_put(b, "</pre></td></tr>");
    }
}

char *rpt_digest_html(const struct rpt_digest *d)
{
    struct tr_buf b;
    char *subject = rpt_digest_subject(d);
    char period[RPT_PERIOD_MAX], before[RPT_PERIOD_MAX], n1[RPT_NUM_MAX], n2[RPT_NUM_MAX];
    double rate = rpt_success_rate(d->ok, d->bad);
    const struct rpt_findings *f = d->findings;
    /* The accent says what needs attention, not only whether a session failed. */
    const char *accent = d->backlog > 0 || (f && (f->n_critical || f->pipeline_stopped)) ? C_BAD
                         : f && f->n_warning ? C_WARN : C_OK;

    tr_buf_init(&b, RPT_HTML_MAX);
    rpt_digest_period(d->since, d->until, period);
    rpt_digest_period(d->prev_since, d->since, before);
    rpt_html_put(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\"><title>");
    rpt_html_esc(&b, subject);
    rpt_html_put(&b, "</title></head>\n<body style=\"margin:0;padding:0;background:#f3f4f6;\">\n"
            "<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" cellspacing=\"0\" "
            "style=\"background:#f3f4f6;\"><tr><td align=\"center\" style=\"padding:24px 12px;\">\n"
            "<table role=\"presentation\" width=\"640\" cellpadding=\"0\" cellspacing=\"0\" "
            "style=\"width:100%%;max-width:640px;background:#ffffff;border:1px solid " C_LINE ";"
            "border-radius:8px;border-collapse:separate;\">\n");
    rpt_html_put(&b, "<tr><td style=\"padding:20px 24px 16px 24px;border-top:6px solid %s;border-radius:8px 8px 0 0;\">"
            "<div style=\"" FONT "font-size:12px;color:" C_MUTED ";letter-spacing:0.04em;\">"
            "TLS-RPT SUMMARY &middot; " NOWRAP "%s</span> (UTC) &middot; compared with " NOWRAP "%s</span></div>",
        accent, period, before);
    rpt_html_put(&b, "<div style=\"" FONT "font-size:22px;font-weight:600;color:%s;margin-top:6px;\">", accent);
    if (rate < 0)
        rpt_html_put(&b, "No sessions reported</div>");
    else
        rpt_html_put(&b, "%s failed of %s sessions</div>", rpt_fmt_count(d->bad, n1),
                     rpt_fmt_count(d->ok + d->bad, n2));
    rpt_html_put(&b, "<div style=\"" FONT "font-size:14px;color:#374151;margin-top:4px;\">");
    if (rate >= 0)
        rpt_html_put(&b, "%.2f%% delivered with TLS &middot; ", rate);
    rpt_html_put(&b, "%s report%s", rpt_fmt_count(d->reports, n1), d->reports == 1 ? "" : "s");
    if (d->detail_failed != d->bad)
        rpt_html_put(&b, " &middot; failure details: %s sessions", rpt_fmt_count(d->detail_failed, n2));
    rpt_html_put(&b, "</div>");
    if (d->backlog > 0)
        rpt_html_put(&b, "<div style=\"" FONT "font-size:14px;font-weight:600;color:" C_BAD ";margin-top:6px;\">"
                "%s report%s captured by tlsrpt-milter wait%s in its spool, not stored for more than "
                "5 minutes: see the milter's log.</div>", rpt_fmt_count(d->backlog, n1),
            d->backlog == 1 ? "" : "s", d->backlog == 1 ? "s" : "");
    rpt_html_put(&b, "</td></tr>\n");

    rpt_digest_html_attention(&b, d);
    rpt_digest_html_days(&b, d);
    domains(&b, d);
    failures(&b, d);
    rpt_html_section(&b, "New since the previous period");
    name_list(&b, "Failure types", d->new_types, 0);
    name_list(&b, "MX hosts with failures", d->new_mx, 1);
    silent(&b, d);
    policies(&b, d);
    rpt_html_put(&b, "<tr><td style=\"padding:16px 24px;" FONT "font-size:11px;color:" C_MUTED ";"
            "border-top:1px solid " C_LINE ";\">tlsrpt-report " TLSRPT_VERSION
            " &middot; counts from RFC 8460 reports; sessions reported under both an sts and a "
            "tlsa policy are counted once.</td></tr>\n");
    rpt_html_put(&b, "</table>\n</td></tr></table>\n</body></html>\n");
    free(subject);
    return (char *)tr_buf_steal(&b, NULL);
}

