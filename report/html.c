/*
 * html.c - the text/html body of the summary email.
 *
 * One self-contained document built for mail clients: layout tables,
 * inline styles only (no <style>, no scripts, no images, no remote
 * anything), bars drawn as table cells with a percentage width.  Every
 * string from a report goes through esc(): made one line with control
 * characters visible as \xNN first (rpt_name_escape), then & < > " ' as
 * entities.  Domain and MX names go through esc_dns(), which keeps each
 * label on one line and lets the name wrap only after a dot.
 *
 * First comes "What needs attention" (the findings, findings.h) and the
 * sessions and failures per day of the findings' window, then the period's
 * tables.
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
#define C_WARN "#b45309"
#define C_INFO "#1d4ed8"
#define C_SESSIONS "#60a5fa"

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

/* n bytes of escaped report data as HTML text and attribute values. */
static void esc_bytes(struct tr_buf *b, const char *s, size_t n)
{
    for (const char *p = s; p < s + n; p++) {
        switch (*p) {
        case '&': tr_buf_append(b, "&amp;", 5); break;
        case '<': tr_buf_append(b, "&lt;", 4); break;
        case '>': tr_buf_append(b, "&gt;", 4); break;
        case '"': tr_buf_append(b, "&quot;", 6); break;
        case '\'': tr_buf_append(b, "&#39;", 5); break;
        default: tr_buf_append(b, p, 1); break;
        }
    }
}

/* Report data, escaped for HTML text and attribute values: safe is the
 * terminal-escaped form (freed here). */
static void esc_safe(struct tr_buf *b, char *safe)
{
    esc_bytes(b, safe, strlen(safe));
    free(safe);
}

/* A name from a report: one line (rpt_name_escape), then entities. */
static void esc(struct tr_buf *b, const char *s)
{
    esc_safe(b, rpt_name_escape(s));
}

/* A domain or MX name, escaped like esc(): each label with its dot in a
 * white-space:nowrap span (no break inside, not even at a hyphen) and a
 * <wbr> after each dot, so the name wraps at dots only, never mid-label. */
static void esc_dns(struct tr_buf *b, const char *s)
{
    char *safe = rpt_name_escape(s);
    const char *p = safe;

    while (*p) {
        size_t n = strcspn(p, ".");
        if (p[n] == '.')
            n++;
        put(b, "<span style=\"white-space:nowrap;\">");
        esc_bytes(b, p, n);
        put(b, "</span>");
        p += n;
        if (*p)
            put(b, "<wbr>");
    }
    free(safe);
}

/* 1 when word (escaped, n bytes) looks like a DNS name or an mx pattern:
 * letters, digits, '-', '_', '*' and '.', with a dot between two labels. */
static int dns_like(const char *w, size_t n)
{
    int inner_dot = 0;
    for (size_t i = 0; i < n; i++) {
        char c = w[i];
        if (c == '.')
            inner_dot |= i > 0 && i + 1 < n && w[i + 1] != '.';
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                   || c == '*'))
            return 0;
    }
    return inner_dot;
}

/* Escaped text (freed here) that may name hosts (a finding's sentence,
 * policy lines): as esc_safe(), but a word that looks like a DNS name,
 * trailing punctuation aside, goes through esc_dns(), so it too wraps only
 * at its dots.  Spaces and line ends are kept. */
static void esc_prose_safe(struct tr_buf *b, char *safe)
{
    const char *p = safe;

    while (*p) {
        size_t n = strcspn(p, " \n"), core = n;
        while (core > 0 && strchr(".,;:)!?", p[core - 1]) != NULL)
            core--;
        if (core > 0 && dns_like(p, core)) {
            char *name = xstrndup(p, core);
            esc_dns(b, name);
            free(name);
            esc_bytes(b, p + core, n - core);
        } else {
            esc_bytes(b, p, n);
        }
        p += n;
        while (*p == ' ' || *p == '\n')
            tr_buf_append(b, p++, 1);
    }
    free(safe);
}

/* Free text from a report or a finding, made one line: see esc_prose_safe(). */
static void esc_prose(struct tr_buf *b, const char *s)
{
    esc_prose_safe(b, rpt_name_escape(s));
}

/* A horizontal bar, pct (0..100) filled in colour; width_px 0: as wide
 * as its cell. */
static void bar(struct tr_buf *b, double pct, const char *colour, int width_px)
{
    int fill = (int)lround(pct);
    if (pct > 0 && fill < 1)
        fill = 1;                       /* any failure stays visible */
    if (fill > 100)
        fill = 100;
    if (width_px > 0)
        put(b, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" width=\"%d\" "
               "style=\"width:%dpx;border-collapse:collapse;background:#f3f4f6;\"><tr>", width_px, width_px);
    else
        put(b, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" width=\"100%%\" "
               "style=\"width:100%%;border-collapse:collapse;background:#f3f4f6;\"><tr>");
    if (fill > 0)
        put(b, "<td width=\"%d%%\" style=\"width:%d%%;height:10px;background:%s;font-size:0;"
               "line-height:0;\">&nbsp;</td>", fill, fill, colour);
    if (fill < 100)
        put(b, "<td style=\"height:10px;font-size:0;line-height:0;\">&nbsp;</td>");
    put(b, "</tr></table>");
}

/* A cell for a bar that fills it: px wide, as a preferred width that the
 * table may stretch (a percentage would force the table wider than a
 * phone's screen). */
static void bar_cell(struct tr_buf *b, int px)
{
    put(b, "<td width=\"%d\" style=\"width:%dpx;padding:4px 8px;border-bottom:1px solid #f3f4f6;\">", px, px);
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
    section(b, "TLS success rate by policy domain, worst first");
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
        esc_dns(b, e->domain);
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
        bar_cell(b, 100);
        bar(b, now >= 0 ? now : 0, e->bad ? "#f59e0b" : C_OK, 0);
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
            if (c == 0)       /* a failure type is kept on one line */
                put(b, "<span style=\"color:" C_BAD ";white-space:nowrap;\">");
            if (c == 2)
                esc_dns(b, rpt_table_cell(t, r, c)->s);
            else
                esc(b, rpt_table_cell(t, r, c)->s);
            put(b, c == 0 ? "</span></td>" : "</td>");
        }
        td_count(b, rpt_table_cell(t, r, 3)->i);
        bar_cell(b, 60);
        bar(b, max ? (double)rpt_table_cell(t, r, 3)->i * 100.0 / (double)max : 0, C_BAD, 0);
        put(b, "</td></tr>");
    }
    put(b, "</table></td></tr>");
    if (t->nrows > n)
        put(b, "<tr><td style=\"padding:0 24px 8px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
               "&hellip; and %zu more rows</td></tr>", t->nrows - n);
}

/* A comma-separated list of column 0 of t, or "none"; dns: DNS names. */
static void name_list(struct tr_buf *b, const char *label, const struct rpt_table *t, int dns)
{
    put(b, "<tr><td style=\"padding:2px 24px;" FONT "font-size:13px;color:#111827;\">"
           "<span style=\"color:" C_MUTED ";\">%s:</span> ", label);
    for (size_t r = 0; r < t->nrows; r++) {
        put(b, "%s<b>", r ? ", " : "");
        if (dns)
            esc_dns(b, rpt_table_cell(t, r, 0)->s);
        else
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
        esc_dns(b, rpt_table_cell(d->silent, r, 1)->s);
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
        esc_dns(b, rpt_table_cell(d->policies, r, 0)->s);
        put(b, "</b> ");
        esc(b, rpt_table_cell(d->policies, r, 1)->s);
        put(b, " <span style=\"color:" C_MUTED ";\">&middot; %s report%s from ",
            rpt_fmt_count(rpt_table_cell(d->policies, r, 3)->i, num),
            rpt_table_cell(d->policies, r, 3)->i == 1 ? "" : "s");
        esc(b, rpt_table_cell(d->policies, r, 4)->s);
        put(b, "</span></td></tr><tr><td style=\"padding:2px 24px 6px 24px;\">"
               "<pre style=\"margin:0;padding:8px 10px;background:#f9fafb;border:1px solid " C_LINE ";"
               "border-radius:4px;font-family:Menlo,Consolas,monospace;font-size:12px;"
               "white-space:pre-wrap;overflow-wrap:anywhere;color:#111827;\">");
        if (lines->kind == RPT_TEXT)
            esc_prose_safe(b, rpt_lines_escape(lines->s));
        else
            put(b, "(no policy string)");
        put(b, "</pre></td></tr>");
    }
}

static const char *sev_colour(enum rpt_severity s)
{
    return s == RPT_SEV_CRITICAL ? C_BAD : s == RPT_SEV_WARNING ? C_WARN : C_INFO;
}

static const char *sev_background(enum rpt_severity s)
{
    return s == RPT_SEV_CRITICAL ? "#fef2f2" : s == RPT_SEV_WARNING ? "#fffbeb" : "#eff6ff";
}

/* One line of a finding: a muted label and report text (or a DNS name). */
static void finding_line(struct tr_buf *b, const char *label, const char *text, int dns)
{
    put(b, "<div style=\"" FONT "font-size:13px;color:#111827;margin-top:3px;overflow-wrap:anywhere;\">"
           "<span style=\"color:" C_MUTED ";\">%s</span> ", label);
    if (dns)
        esc_dns(b, text);
    else
        esc_prose(b, text);
    put(b, "</div>");
}

static void finding(struct tr_buf *b, const struct rpt_finding *f)
{
    char *counts = rpt_digest_finding_counts(f), days[RPT_PERIOD_MAX];

    put(b, "<tr><td style=\"padding:4px 16px 6px 16px;\"><table role=\"presentation\" width=\"100%%\" "
           "cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%%;border-collapse:collapse;"
           "border-left:4px solid %s;background:%s;\"><tr><td style=\"padding:8px 12px;\">",
        sev_colour(f->severity), sev_background(f->severity));
    put(b, "<div style=\"" FONT "font-size:14px;color:#111827;\"><span style=\"display:inline-block;"
           "padding:1px 6px;border-radius:3px;background:%s;color:#ffffff;font-size:11px;font-weight:700;"
           "letter-spacing:0.04em;\">%s</span> <b>", sev_colour(f->severity),
        f->severity == RPT_SEV_CRITICAL ? "CRITICAL" : f->severity == RPT_SEV_WARNING ? "WARNING" : "INFO");
    if (f->domain)
        esc_dns(b, f->domain);
    else
        put(b, "all domains");
    put(b, "</b> <span style=\"font-family:Menlo,Consolas,monospace;font-size:12px;color:" C_MUTED ";\">");
    esc(b, f->code);
    put(b, "</span></div>");
    if (f->mx)
        finding_line(b, "MX", f->mx, 1);
    if (f->type)
        finding_line(b, "Failure type", f->type, 0);
    if (counts[0])
        finding_line(b, "Sessions", counts, 0);
    rpt_digest_finding_days(f, days);
    if (days[0])
        finding_line(b, "Seen", days, 0);
    if (f->orgs)
        finding_line(b, "Senders", f->orgs, 0);
    if (f->reasons)
        finding_line(b, "Reason codes", f->reasons, 0);
    if (f->evidence)
        finding_line(b, "Evidence", f->evidence, 0);
    if (f->meaning)
        finding_line(b, "What it means", f->meaning, 0);
    if (f->fix) {
        put(b, "<div style=\"" FONT "font-size:13px;color:#111827;margin-top:3px;overflow-wrap:anywhere;\">"
               "<b>What to change:</b> ");
        esc_prose(b, f->fix);
        put(b, "</div>");
    }
    if (f->policies) {
        put(b, "<pre style=\"margin:6px 0 0 0;padding:6px 8px;background:#ffffff;border:1px solid " C_LINE ";"
               "font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;"
               "overflow-wrap:anywhere;color:#111827;\">");
        esc_prose_safe(b, rpt_lines_escape(f->policies));
        put(b, "</pre>");
    }
    put(b, "</td></tr></table></td></tr>");
    free(counts);
}

/* "What needs attention": the findings of the window, worst first. */
static void attention(struct tr_buf *b, const struct rpt_digest *d)
{
    const struct rpt_findings *f = d->findings;
    char window[RPT_PERIOD_MAX], num[RPT_NUM_MAX];
    size_t shown;

    rpt_digest_period(d->find_since, d->until, window);
    section(b, "What needs attention");
    put(b, "<tr><td style=\"padding:0 24px 6px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
           "Findings of the %d days %s (UTC), compared with the %d days before.</td></tr>",
        RPT_FIND_DEFAULT_DAYS, window, RPT_FIND_DEFAULT_DAYS);
    if (f == NULL || f->n_critical + f->n_warning == 0)
        put(b, "<tr><td style=\"padding:2px 24px 6px 24px;" FONT "font-size:14px;color:" C_OK ";"
               "font-weight:600;\">Nothing needs attention: no warning or critical finding.</td></tr>");
    if (f == NULL || f->n == 0)
        return;
    put(b, "<tr><td style=\"padding:2px 24px 6px 24px;" FONT "font-size:14px;\">");
    if (f->n_critical)
        put(b, "<span style=\"color:" C_BAD ";font-weight:600;\">%s critical</span>",
            rpt_fmt_count((int64_t)f->n_critical, num));
    if (f->n_warning)
        put(b, "%s<span style=\"color:" C_WARN ";font-weight:600;\">%s warning%s</span>", f->n_critical ? ", " : "",
            rpt_fmt_count((int64_t)f->n_warning, num), f->n_warning == 1 ? "" : "s");
    if (f->n_info)
        put(b, "%s<span style=\"color:" C_INFO ";\">%s info</span>", f->n_critical + f->n_warning ? ", " : "",
            rpt_fmt_count((int64_t)f->n_info, num));
    put(b, "</td></tr>");
    if (f->pipeline_stopped)
        put(b, "<tr><td style=\"padding:2px 24px 6px 24px;" FONT "font-size:14px;font-weight:600;color:" C_BAD ";\">"
               "The capture pipeline has stopped: reports are not being stored.</td></tr>");
    shown = f->n < RPT_DIGEST_MAX_FINDINGS ? f->n : RPT_DIGEST_MAX_FINDINGS;
    for (size_t i = 0; i < shown; i++)
        finding(b, &f->v[i]);
    if (f->n + f->dropped > shown)
        put(b, "<tr><td style=\"padding:0 24px 8px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
               "&hellip; and %zu more findings (tlsrpt-report findings)</td></tr>", f->n + f->dropped - shown);
}

/* Sessions and failed sessions per day of the findings' window: two bars
 * a day, sessions scaled to the busiest day, failures to the worst. */
static void days_chart(struct tr_buf *b, const struct rpt_digest *d)
{
    const struct rpt_trend *t = d->days;
    char window[RPT_PERIOD_MAX], label[RPT_DAY_LABEL_MAX], num[RPT_NUM_MAX];
    int64_t max_s = 0, max_f = 0;

    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        if (t->ok[i] + t->bad[i] > max_s)
            max_s = t->ok[i] + t->bad[i];
        if (t->bad[i] > max_f)
            max_f = t->bad[i];
    }
    rpt_digest_period(d->find_since, d->until, window);
    section(b, "Sessions and failures per day");
    put(b, "<tr><td style=\"padding:0 24px 4px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
           "%s (UTC), the window of the findings.</td></tr>", window);
    table_open(b);
    put(b, "<tr>");
    th(b, "Day", 0); th(b, "Sessions", 1); th(b, "", 0); th(b, "Failed", 1); th(b, "", 0); th(b, "TLS", 1);
    put(b, "</tr>");
    for (size_t i = 0; i < t->n; i++) {
        int64_t n = t->ok[i] + t->bad[i];
        double rate = rpt_success_rate(t->ok[i], t->bad[i]);
        rpt_digest_day_label(t->start[i], label);
        put(b, "<tr>");
        td_open(b, 0);
        put(b, "<span style=\"white-space:nowrap;\">%s</span></td>", label);
        td_count(b, n);
        bar_cell(b, 120);
        bar(b, max_s ? (double)n * 100.0 / (double)max_s : 0, C_SESSIONS, 0);
        put(b, "</td>");
        td_open(b, 1);
        put(b, "<span style=\"color:%s;font-weight:%s;\">%s</span></td>", t->bad[i] ? C_BAD : "#111827",
            t->bad[i] ? "600" : "400", rpt_fmt_count(t->bad[i], num));
        bar_cell(b, 80);
        bar(b, max_f ? (double)t->bad[i] * 100.0 / (double)max_f : 0, C_BAD, 0);
        put(b, "</td>");
        td_open(b, 1);
        if (rate >= 0)
            put(b, "%.2f%%</td>", rate);
        else
            put(b, "&ndash;</td>");
        put(b, "</tr>");
    }
    put(b, "</table></td></tr>");
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
        accent, period, before);
    put(&b, "<div style=\"" FONT "font-size:22px;font-weight:600;color:%s;margin-top:6px;\">", accent);
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

    attention(&b, d);
    days_chart(&b, d);
    domains(&b, d);
    failures(&b, d);
    section(&b, "New since the previous period");
    name_list(&b, "Failure types", d->new_types, 0);
    name_list(&b, "MX hosts with failures", d->new_mx, 1);
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
