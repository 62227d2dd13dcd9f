/*
 * html.c - the text/html body of the summary email.
 *
 * One self-contained document built for mail clients: layout tables,
 * inline styles only (no <style>, no scripts, no images, no remote
 * anything), bars drawn as table cells with a percentage width.  Every
 * string from a report goes through esc(), that is rpt_html_append()
 * (escape.c, shared with the dashboard): made one line with control
 * characters visible as \xNN first (rpt_name_escape), then & < > " ' as
 * entities.
 */
#include "digest.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Largest HTML body; a digest is far smaller, this only bounds a runaway. */
#define RPT_HTML_MAX ((size_t)16 << 20)

#define FONT "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
#define C_OK "#15803d"
#define C_BAD "#b91c1c"
#define C_MUTED "#6b7280"
#define C_LINE "#e5e7eb"

/* Program text (never report data). */
static void put(struct tr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct tr_buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tr_buf_append(b, s, (size_t)n);
    free(s);
}

/* A name from a report as HTML (escape.c). */
static void esc(struct tr_buf *b, const char *s)
{
    rpt_html_append(b, s, 0);
}

/* A horizontal bar, pct (0..100) filled in colour. */
static void bar(struct tr_buf *b, double pct, const char *colour, int width_px)
{
    int fill = (int)lround(pct);
    if (pct > 0 && fill < 1)
        fill = 1;                       /* any failure stays visible */
    if (fill > 100)
        fill = 100;
    put(b, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" width=\"%d\" "
           "style=\"width:%dpx;border-collapse:collapse;background:#f3f4f6;\"><tr>", width_px, width_px);
    if (fill > 0)
        put(b, "<td width=\"%d%%\" style=\"width:%d%%;height:10px;background:%s;font-size:0;"
               "line-height:0;\">&nbsp;</td>", fill, fill, colour);
    if (fill < 100)
        put(b, "<td style=\"height:10px;font-size:0;line-height:0;\">&nbsp;</td>");
    put(b, "</tr></table>");
}

static void section(struct tr_buf *b, const char *title)
{
    put(b, "<tr><td style=\"padding:20px 24px 6px 24px;" FONT "font-size:15px;font-weight:600;"
           "color:#111827;border-top:1px solid " C_LINE ";\">%s</td></tr>", title);
}

static void th(struct tr_buf *b, const char *label, int right)
{
    put(b, "<th align=\"%s\" style=\"" FONT "font-size:12px;font-weight:600;color:" C_MUTED ";"
           "padding:4px 8px;border-bottom:1px solid " C_LINE ";text-align:%s;\">%s</th>",
        right ? "right" : "left", right ? "right" : "left", label);
}

static void td_open(struct tr_buf *b, int right)
{
    put(b, "<td align=\"%s\" style=\"" FONT "font-size:13px;color:#111827;padding:4px 8px;"
           "border-bottom:1px solid #f3f4f6;%s\">", right ? "right" : "left",
        right ? "text-align:right;white-space:nowrap;" : "overflow-wrap:anywhere;");
}

static void td_count(struct tr_buf *b, int64_t n)
{
    char num[RPT_NUM_MAX];
    td_open(b, 1);
    put(b, "%s</td>", rpt_fmt_count(n, num));
}

static void table_open(struct tr_buf *b)
{
    put(b, "<tr><td style=\"padding:0 16px 8px 16px;\"><table role=\"presentation\" width=\"100%%\" "
           "cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%%;\">");
}

static void domains(struct tr_buf *b, const struct rpt_digest *d)
{
    section(b, "TLS success rate by policy domain");
    if (d->n_domains == 0) {
        put(b, "<tr><td style=\"padding:4px 24px;" FONT "font-size:13px;color:" C_MUTED ";\">"
               "No reports in this period.</td></tr>");
        return;
    }
    table_open(b);
    put(b, "<tr>");
    th(b, "Domain", 0); th(b, "Sessions", 1); th(b, "Failed", 1); th(b, "TLS", 1); th(b, "", 0);
    th(b, "Before", 1);
    put(b, "</tr>");
    for (size_t i = 0; i < d->n_domains; i++) {
        const struct rpt_digest_domain *e = &d->domains[i];
        double now = rpt_success_rate(e->ok, e->bad), before = rpt_success_rate(e->prev_ok, e->prev_bad);
        put(b, "<tr>");
        td_open(b, 0);
        esc(b, e->domain);
        put(b, "</td>");
        td_count(b, e->ok + e->bad);
        td_open(b, 1);
        put(b, "<span style=\"color:%s;font-weight:%s;\">", e->bad ? C_BAD : "#111827", e->bad ? "600" : "400");
        {
            char num[RPT_NUM_MAX];
            put(b, "%s</span></td>", rpt_fmt_count(e->bad, num));
        }
        td_open(b, 1);
        if (now >= 0)
            put(b, "%.2f%%</td>", now);
        else
            put(b, "&ndash;</td>");
        td_open(b, 0);
        bar(b, now >= 0 ? now : 0, e->bad ? "#f59e0b" : C_OK, 120);
        put(b, "</td>");
        td_open(b, 1);
        if (before < 0)
            put(b, "<span style=\"color:" C_MUTED ";\">&ndash;</span>");
        else if (now >= 0)
            put(b, "%.2f%% <span style=\"color:%s;\">%s%.2fpp</span>", before,
                now < before ? C_BAD : (now > before ? C_OK : C_MUTED),
                now < before ? "&#9660;" : (now > before ? "&#9650;" : "&plusmn;"), fabs(now - before));
        else
            put(b, "%.2f%%", before);
        put(b, "</td></tr>");
    }
    put(b, "</table></td></tr>");
}

static void failures(struct tr_buf *b, const struct rpt_digest *d)
{
    const struct rpt_table *t = d->failures;
    int64_t max = 0;
    size_t n = t->nrows < RPT_DIGEST_MAX_ROWS ? t->nrows : RPT_DIGEST_MAX_ROWS;

    section(b, "Failures by type, sending organization and MX");
    if (t->nrows == 0) {
        put(b, "<tr><td style=\"padding:4px 24px;" FONT "font-size:13px;color:" C_OK ";\">"
               "No failures reported.</td></tr>");
        return;
    }
    for (size_t r = 0; r < n; r++)
        if (rpt_table_cell(t, r, 3)->i > max)
            max = rpt_table_cell(t, r, 3)->i;
    table_open(b);
    put(b, "<tr>");
    th(b, "Failure type", 0); th(b, "Sending organization", 0); th(b, "MX", 0); th(b, "Sessions", 1);
    th(b, "", 0);
    put(b, "</tr>");
    for (size_t r = 0; r < n; r++) {
        put(b, "<tr>");
        for (size_t c = 0; c < 3; c++) {
            td_open(b, 0);
            if (c == 0)
                put(b, "<span style=\"color:" C_BAD ";\">");
            esc(b, rpt_table_cell(t, r, c)->s);
            put(b, c == 0 ? "</span></td>" : "</td>");
        }
        td_count(b, rpt_table_cell(t, r, 3)->i);
        td_open(b, 0);
        bar(b, max ? (double)rpt_table_cell(t, r, 3)->i * 100.0 / (double)max : 0, C_BAD, 80);
        put(b, "</td></tr>");
    }
    put(b, "</table></td></tr>");
    if (t->nrows > n)
        put(b, "<tr><td style=\"padding:0 24px 8px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
               "&hellip; and %zu more rows</td></tr>", t->nrows - n);
}

/* A comma-separated list of column 0 of t, or "none". */
static void name_list(struct tr_buf *b, const char *label, const struct rpt_table *t)
{
    put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;color:#111827;\">"
           "<span style=\"color:" C_MUTED ";\">%s:</span> ", label);
    for (size_t r = 0; r < t->nrows; r++) {
        put(b, "%s<b>", r ? ", " : "");
        esc(b, rpt_table_cell(t, r, 0)->s);
        put(b, "</b>");
    }
    put(b, "%s</td></tr>", t->nrows ? "" : "none");
}

static void silent(struct tr_buf *b, const struct rpt_digest *d)
{
    section(b, "Reporters gone silent");
    put(b, "<tr><td style=\"padding:0 24px 4px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
           "Reported in the previous period, not in this one.</td></tr>");
    if (d->silent->nrows == 0) {
        put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;\">None.</td></tr>");
        return;
    }
    for (size_t r = 0; r < d->silent->nrows; r++) {
        put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;\">");
        esc(b, rpt_table_cell(d->silent, r, 0)->s);
        put(b, " <span style=\"color:" C_MUTED ";\">for</span> ");
        esc(b, rpt_table_cell(d->silent, r, 1)->s);
        put(b, "</td></tr>");
    }
}

static void policies(struct tr_buf *b, const struct rpt_digest *d)
{
    section(b, "Policies reported");
    if (d->policies->nrows == 0)
        put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;\">None.</td></tr>");
    for (size_t r = 0; r < d->policies->nrows; r++) {
        const struct rpt_cell *lines = rpt_table_cell(d->policies, r, 2);
        char num[RPT_NUM_MAX];
        put(b, "<tr><td style=\"padding:6px 24px 2px 24px;" FONT "font-size:13px;\"><b>");
        esc(b, rpt_table_cell(d->policies, r, 0)->s);
        put(b, "</b> ");
        esc(b, rpt_table_cell(d->policies, r, 1)->s);
        put(b, " <span style=\"color:" C_MUTED ";\">&middot; %s report%s from ",
            rpt_fmt_count(rpt_table_cell(d->policies, r, 3)->i, num),
            rpt_table_cell(d->policies, r, 3)->i == 1 ? "" : "s");
        esc(b, rpt_table_cell(d->policies, r, 4)->s);
        put(b, "</span></td></tr><tr><td style=\"padding:2px 24px 6px 24px;\">"
               "<pre style=\"margin:0;padding:8px 10px;background:#f9fafb;border:1px solid " C_LINE ";"
               "border-radius:4px;font-family:Menlo,Consolas,monospace;font-size:12px;"
               "white-space:pre-wrap;word-break:break-all;color:#111827;\">");
        if (lines->kind == RPT_TEXT)
            rpt_html_append(b, lines->s, 1);
        else
            put(b, "(no policy string)");
        put(b, "</pre></td></tr>");
    }
}

char *rpt_digest_html(const struct rpt_digest *d)
{
    struct tr_buf b;
    char *subject = rpt_digest_subject(d);
    char period[RPT_PERIOD_MAX], before[RPT_PERIOD_MAX], n1[RPT_NUM_MAX], n2[RPT_NUM_MAX];
    double rate = rpt_success_rate(d->ok, d->bad);
    int clean = rpt_digest_clean(d);

    tr_buf_init(&b, RPT_HTML_MAX);
    rpt_digest_period(d->since, d->until, period);
    rpt_digest_period(d->prev_since, d->since, before);
    put(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width\"><title>");
    esc(&b, subject);
    put(&b, "</title></head>\n<body style=\"margin:0;padding:0;background:#f3f4f6;\">\n"
            "<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" cellspacing=\"0\" "
            "style=\"background:#f3f4f6;\"><tr><td align=\"center\" style=\"padding:24px 12px;\">\n"
            "<table role=\"presentation\" width=\"640\" cellpadding=\"0\" cellspacing=\"0\" "
            "style=\"width:100%%;max-width:640px;background:#ffffff;border:1px solid " C_LINE ";"
            "border-radius:8px;border-collapse:separate;\">\n");
    put(&b, "<tr><td style=\"padding:20px 24px 16px 24px;border-top:6px solid %s;border-radius:8px 8px 0 0;\">"
            "<div style=\"" FONT "font-size:12px;color:" C_MUTED ";letter-spacing:0.04em;\">"
            "TLS-RPT SUMMARY &middot; %s (UTC) &middot; compared with %s</div>",
        clean ? C_OK : C_BAD, period, before);
    put(&b, "<div style=\"" FONT "font-size:22px;font-weight:600;color:%s;margin-top:6px;\">",
        clean ? C_OK : C_BAD);
    if (rate < 0)
        put(&b, "No sessions reported</div>");
    else
        put(&b, "%s failed of %s sessions</div>", rpt_fmt_count(d->bad, n1), rpt_fmt_count(d->ok + d->bad, n2));
    put(&b, "<div style=\"" FONT "font-size:14px;color:#374151;margin-top:4px;\">");
    if (rate >= 0)
        put(&b, "%.2f%% delivered with TLS &middot; ", rate);
    put(&b, "%s report%s", rpt_fmt_count(d->reports, n1), d->reports == 1 ? "" : "s");
    if (d->detail_failed != d->bad)
        put(&b, " &middot; failure details: %s sessions", rpt_fmt_count(d->detail_failed, n2));
    put(&b, "</div>");
    if (d->backlog > 0)
        put(&b, "<div style=\"" FONT "font-size:14px;font-weight:600;color:" C_BAD ";margin-top:6px;\">"
                "%s report%s captured by tlsrpt-milter wait%s in its spool, not stored for more than "
                "5 minutes: see the milter's log.</div>", rpt_fmt_count(d->backlog, n1),
            d->backlog == 1 ? "" : "s", d->backlog == 1 ? "s" : "");
    put(&b, "</td></tr>\n");

    domains(&b, d);
    failures(&b, d);
    section(&b, "New since the previous period");
    name_list(&b, "Failure types", d->new_types);
    name_list(&b, "MX hosts with failures", d->new_mx);
    silent(&b, d);
    policies(&b, d);
    put(&b, "<tr><td style=\"padding:16px 24px;" FONT "font-size:11px;color:" C_MUTED ";"
            "border-top:1px solid " C_LINE ";\">tlsrpt-report " TLSRPT_VERSION
            " &middot; counts from RFC 8460 reports; sessions reported under both an sts and a "
            "tlsa policy are counted once.</td></tr>\n");
    put(&b, "</table>\n</td></tr></table>\n</body></html>\n");
    free(subject);
    return (char *)tr_buf_steal(&b, NULL);
}
