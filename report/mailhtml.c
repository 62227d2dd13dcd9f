/*
 * mailhtml.c - escaping and layout blocks of the summary email's HTML part
 * (mailhtml.h).  Every string from a report goes through rpt_html_esc():
 * made one line with control characters visible as \xNN first
 * (rpt_name_escape), then & < > " ' as entities.  Domain and MX names go
 * through rpt_html_esc_dns(), which keeps each label on one line and lets
 * the name wrap only after a dot; free text that may name hosts through
 * rpt_html_esc_prose(), which does the same for the names in it.
 */
#include "mailhtml.h"
#include "output.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Program text (never report data). */
void rpt_html_put(struct tr_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)tr_buf_vprintf(b, fmt, ap);   /* a full buffer: RPT_HTML_MAX bounds the body (html.c) */
    va_end(ap);
}

/* Report data, escaped for HTML text and attribute values: safe is the
 * terminal-escaped form (freed here). */
void rpt_html_esc_safe(struct tr_buf *b, char *safe)
{
    rpt_html_esc_bytes(b, safe, strlen(safe));
    free(safe);
}

/* A name from a report: one line (rpt_name_escape), then entities. */
void rpt_html_esc(struct tr_buf *b, const char *s)
{
    (void)rpt_html_append(b, s, 0);
}

/* A domain or MX name, escaped like rpt_html_esc(): each label with its dot in a
 * white-space:nowrap span (no break inside, not even at a hyphen) and a
 * <wbr> after each dot, so the name wraps at dots only, never mid-label. */
void rpt_html_esc_dns(struct tr_buf *b, const char *s)
{
    char *safe = rpt_name_escape(s);
    const char *p = safe;

    while (*p) {
        size_t n = strcspn(p, ".");
        if (p[n] == '.')
            n++;
        rpt_html_put(b, "<span style=\"white-space:nowrap;\">");
        rpt_html_esc_bytes(b, p, n);
        rpt_html_put(b, "</span>");
        p += n;
        if (*p)
            rpt_html_put(b, "<wbr>");
    }
    free(safe);
}

/* Characters of a DNS name or an mx pattern. */
static int dns_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
           || c == '*' || c == '.';
}

/* 1 when s[0..n) has a letter or '*' (a name, not a number like 11.98). */
static int has_letter(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '*')
            return 1;
    return 0;
}

/* Escaped text (freed here) that may name hosts (a finding's sentence, a
 * URL in a reason code, policy lines): as rpt_html_esc_safe(), but each
 * run of DNS name characters with a dot inside and a letter (dots at its
 * ends left out) goes through rpt_html_esc_dns(), so a host name in it, in
 * a URL or in parentheses, also wraps only at its dots; a run with a
 * hyphen and no dot (a date, a failure type) is kept on one line. */
void rpt_html_esc_prose_safe(struct tr_buf *b, char *safe)
{
    const char *p = safe;

    while (*p) {
        size_t n = 0, lead = 0, core;
        while (p[n] && dns_char(p[n]))
            n++;
        if (n == 0) {                    /* not a name character */
            rpt_html_esc_bytes(b, p, 1);
            p++;
            continue;
        }
        while (lead < n && p[lead] == '.')
            lead++;
        core = n - lead;
        while (core > 0 && p[lead + core - 1] == '.')
            core--;
        rpt_html_esc_bytes(b, p, lead);
        if (core > 0 && memchr(p + lead, '.', core) != NULL && has_letter(p + lead, core)) {
            char *name = xstrndup(p + lead, core);
            rpt_html_esc_dns(b, name);
            free(name);
        } else if (memchr(p + lead, '-', core) != NULL) {   /* a date, a failure type: whole */
            rpt_html_put(b, "<span style=\"white-space:nowrap;\">");
            rpt_html_esc_bytes(b, p + lead, core);
            rpt_html_put(b, "</span>");
        } else {
            rpt_html_esc_bytes(b, p + lead, core);
        }
        rpt_html_esc_bytes(b, p + lead + core, n - lead - core);
        p += n;
    }
    free(safe);
}

/* Free text from a report or a finding, made one line: see rpt_html_esc_prose_safe(). */
void rpt_html_esc_prose(struct tr_buf *b, const char *s)
{
    rpt_html_esc_prose_safe(b, rpt_name_escape(s));
}

/* A horizontal bar, pct (0..100) filled in colour; width_px 0: as wide
 * as its cell. */
void rpt_html_bar(struct tr_buf *b, double pct, const char *colour, int width_px)
{
    int fill = (int)lround(pct);
    if (pct > 0 && fill < 1)
        fill = 1;                       /* any failure stays visible */
    if (fill > 100)
        fill = 100;
    if (width_px > 0)
        rpt_html_put(b, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" width=\"%d\" "
               "style=\"width:%dpx;border-collapse:collapse;background:#f3f4f6;\"><tr>", width_px, width_px);
    else
        rpt_html_put(b, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" width=\"100%%\" "
               "style=\"width:100%%;border-collapse:collapse;background:#f3f4f6;\"><tr>");
    if (fill > 0)
        rpt_html_put(b, "<td width=\"%d%%\" style=\"width:%d%%;height:10px;background:%s;font-size:0;"
               "line-height:0;\">&nbsp;</td>", fill, fill, colour);
    if (fill < 100)
        rpt_html_put(b, "<td style=\"height:10px;font-size:0;line-height:0;\">&nbsp;</td>");
    rpt_html_put(b, "</tr></table>");
}

/* A cell for a bar that fills it: px wide, as a preferred width that the
 * table may stretch (a percentage would force the table wider than a
 * phone's screen). */
void rpt_html_bar_cell(struct tr_buf *b, int px)
{
    rpt_html_put(b, "<td width=\"%d\" style=\"width:%dpx;padding:4px 8px;border-bottom:1px solid #f3f4f6;\">", px, px);
}

void rpt_html_section(struct tr_buf *b, const char *title)
{
    rpt_html_put(b, "<tr><td style=\"padding:20px 24px 6px 24px;" FONT "font-size:15px;font-weight:600;"
           "color:#111827;border-top:1px solid " C_LINE ";\">%s</td></tr>", title);
}

void rpt_html_th(struct tr_buf *b, const char *label, int right)
{
    rpt_html_put(b, "<th align=\"%s\" style=\"" FONT "font-size:12px;font-weight:600;color:" C_MUTED ";"
           "padding:4px 8px;border-bottom:1px solid " C_LINE ";text-align:%s;\">%s</th>",
        right ? "right" : "left", right ? "right" : "left", label);
}

void rpt_html_td_open(struct tr_buf *b, int right)
{
    rpt_html_put(b, "<td align=\"%s\" style=\"" FONT "font-size:13px;color:#111827;padding:4px 8px;"
           "border-bottom:1px solid #f3f4f6;%s\">", right ? "right" : "left",
        right ? "text-align:right;white-space:nowrap;" : "overflow-wrap:anywhere;");
}

void rpt_html_td_count(struct tr_buf *b, int64_t n)
{
    char num[RPT_NUM_MAX];
    rpt_html_td_open(b, 1);
    rpt_html_put(b, "%s</td>", rpt_fmt_count(n, num));
}

void rpt_html_table_open(struct tr_buf *b)
{
    rpt_html_put(b, "<tr><td style=\"padding:0 16px 8px 16px;\"><table role=\"presentation\" width=\"100%%\" "
           "cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;width:100%%;\">");
}

