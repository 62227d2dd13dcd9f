/*
 * attention.c - the summary email's first sections, in both parts: "What
 * needs attention" (each finding of findings.h with its severity, where,
 * the evidence, what it means and what to change) and sessions and failed
 * sessions per day of the findings' window (a table with a bar of '#' in
 * the text part, two bars a day in the HTML part).
 *
 * Report strings are made one line by rpt_name_escape() (rpt_lines_escape
 * for policy strings).  In the text part long lines are wrapped at spaces
 * only, so a domain or MX name is never cut; in the HTML part names go
 * through rpt_html_esc_dns()/rpt_html_esc_prose() (mailhtml.h).
 */
#include "digest.h"
#include "mailhtml.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text lines are wrapped at a space before this column. */
#define RPT_TEXT_COLS 76
/* Width of the per-day failure bar, in '#'. */
#define RPT_DAY_BAR 20
/* Indentation of a finding's details under its title. */
#define INDENT "    "

/* Display columns of UTF-8 text (continuation bytes take none). */
static size_t columns(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* label (program text) and then text (report data, escaped here), wrapped
 * at spaces before RPT_TEXT_COLS with continuation lines indented like the
 * first; a word longer than a line stays whole. */
static void wrapped(FILE *fp, const char *label, const char *text)
{
    char *e = rpt_name_escape(text);
    size_t col = strlen(INDENT) + columns(label, strlen(label));
    int line_empty = 1;                  /* no word on this line yet */
    const char *p = e;

    fputs(INDENT, fp);
    fputs(label, fp);
    while (*p) {
        size_t n = strcspn(p, " "), w = columns(p, n);
        if (n > 0) {
            if (!line_empty && col + 1 + w > RPT_TEXT_COLS) {
                fputs("\n" INDENT, fp);
                col = strlen(INDENT);
                line_empty = 1;
            } else if (!line_empty) {
                fputc(' ', fp);
                col++;
            }
            fwrite(p, 1, n, fp);
            col += w;
            line_empty = 0;
        }
        p += n;
        while (*p == ' ')
            p++;
    }
    fputc('\n', fp);
    free(e);
}

char *rpt_digest_finding_counts(const struct rpt_finding *f)
{
    char n1[RPT_NUM_MAX], n2[RPT_NUM_MAX];

    if (f->failed >= 0 && f->sessions >= 0 && f->rate >= 0)
        return xasprintf("%s of %s sessions failed (%.2f%%)", rpt_fmt_count(f->failed, n1),
                         rpt_fmt_count(f->sessions, n2), f->rate);
    if (f->failed >= 0 && f->sessions >= 0)
        return xasprintf("%s of %s sessions failed", rpt_fmt_count(f->failed, n1), rpt_fmt_count(f->sessions, n2));
    if (f->failed >= 0)
        return xasprintf("%s failed session%s", rpt_fmt_count(f->failed, n1), f->failed == 1 ? "" : "s");
    if (f->sessions >= 0)
        return xasprintf("%s session%s", rpt_fmt_count(f->sessions, n2), f->sessions == 1 ? "" : "s");
    return xstrdup("");
}

void rpt_digest_finding_days(const struct rpt_finding *f, char *buf)
{
    char a[RPT_LABEL_MAX], b[RPT_LABEL_MAX];

    buf[0] = '\0';
    if (f->first_day < 0 && f->last_day < 0)
        return;
    rpt_fmt_date(f->first_day >= 0 ? f->first_day : f->last_day, a);
    rpt_fmt_date(f->last_day >= 0 ? f->last_day : f->first_day, b);
    if (strcmp(a, b) == 0)
        snprintf(buf, RPT_PERIOD_MAX, "%s", a);
    else
        snprintf(buf, RPT_PERIOD_MAX, "%s to %s", a, b);
}

/* "2 critical, 1 warning, 3 info" (the non-zero ones), or "". */
static void severity_counts(FILE *fp, const struct rpt_findings *f)
{
    char n[RPT_NUM_MAX];
    const char *sep = "";
    if (f->n_critical) {
        fprintf(fp, "%s critical", rpt_fmt_count((int64_t)f->n_critical, n));
        sep = ", ";
    }
    if (f->n_warning) {
        fprintf(fp, "%s%s warning%s", sep, rpt_fmt_count((int64_t)f->n_warning, n), f->n_warning == 1 ? "" : "s");
        sep = ", ";
    }
    if (f->n_info)
        fprintf(fp, "%s%s info", sep, rpt_fmt_count((int64_t)f->n_info, n));
}

static void one_finding(FILE *fp, size_t i, const struct rpt_finding *f)
{
    char *line, *title = rpt_name_escape(f->domain ? f->domain : "all domains");
    char sev[16], days[RPT_PERIOD_MAX];

    snprintf(sev, sizeof sev, "%s", rpt_severity_name(f->severity));
    for (char *p = sev; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    fprintf(fp, "\n%zu. %s  %s  %s\n", i + 1, sev, title, f->code);
    free(title);
    if (f->mx)
        wrapped(fp, "MX: ", f->mx);
    if (f->type)
        wrapped(fp, "Failure type: ", f->type);
    line = rpt_digest_finding_counts(f);
    if (line[0])
        wrapped(fp, "Sessions: ", line);
    free(line);
    rpt_digest_finding_days(f, days);
    if (days[0])
        wrapped(fp, "Seen: ", days);
    if (f->orgs)
        wrapped(fp, "Senders: ", f->orgs);
    if (f->reasons)
        wrapped(fp, "Reason codes: ", f->reasons);
    if (f->evidence)
        wrapped(fp, "Evidence: ", f->evidence);
    if (f->meaning && f->severity != RPT_SEV_INFO)      /* info: what was seen and what to do */
        wrapped(fp, "What it means: ", f->meaning);
    if (f->fix)
        wrapped(fp, "What to change: ", f->fix);
    if (f->policies && f->severity != RPT_SEV_INFO) {
        char *copy = xstrdup(f->policies), *save = NULL;
        fputs(INDENT "Policies seen:\n", fp);
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char *e = rpt_name_escape(l);
            fprintf(fp, INDENT "  %s\n", e);
            free(e);
        }
        free(copy);
    }
}

void rpt_digest_text_attention(FILE *fp, const struct rpt_digest *d)
{
    const struct rpt_findings *f = d->findings;
    char window[RPT_PERIOD_MAX];
    size_t shown;

    rpt_digest_period(d->find_since, d->until, window);
    fprintf(fp, "\nWhat needs attention\n\nFindings of the %d days %s (UTC), compared with the %d days before.\n",
            RPT_FIND_DEFAULT_DAYS, window, RPT_FIND_DEFAULT_DAYS);
    if (f == NULL || f->n == 0) {
        fputs("Nothing needs attention: no finding.\n", fp);
        return;
    }
    if (f->n_critical == 0 && f->n_warning == 0)
        fputs("Nothing needs attention: no warning or critical finding; ", fp);
    severity_counts(fp, f);
    fputs(".\n", fp);
    if (f->pipeline_stopped)
        fputs("The capture pipeline has stopped: reports are not being stored (see below).\n", fp);
    shown = f->n < RPT_DIGEST_MAX_FINDINGS ? f->n : RPT_DIGEST_MAX_FINDINGS;
    for (size_t i = 0; i < shown; i++)
        one_finding(fp, i, &f->v[i]);
    if (f->n + f->dropped > shown) {
        char a[RPT_LABEL_MAX], b[RPT_LABEL_MAX];
        rpt_fmt_date(d->find_since, a);
        rpt_fmt_date(d->until - 1, b);
        fprintf(fp, "\n... and %zu more findings (tlsrpt-report findings --since %s --until %s).\n",
                f->n + f->dropped - shown, a, b);
    }
}

void rpt_digest_day_label(int64_t t, char *buf)
{
    static const char *const wd[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    char date[RPT_LABEL_MAX];
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);

    rpt_fmt_date(t, date);
    snprintf(buf, RPT_DAY_LABEL_MAX, "%s %s", date, wd[((days % 7) + 7) % 7]);
}

void rpt_digest_text_days(FILE *fp, const struct rpt_digest *d)
{
    const struct rpt_trend *t = d->days;
    struct rpt_table *tab;
    struct rpt_out o = {fp, RPT_FMT_TABLE, 0, 0};
    char window[RPT_PERIOD_MAX], label[RPT_DAY_LABEL_MAX], bar[RPT_DAY_BAR + 1];
    int64_t max = 0;

    if (t == NULL)
        return;
    rpt_digest_period(d->find_since, d->until, window);
    fprintf(fp, "\nSessions and failures per day, %s (UTC)\n\n", window);
    for (size_t i = 0; i < t->n; i++)
        if (t->bad[i] > max)
            max = t->bad[i];
    tab = rpt_table_new();
    rpt_table_add_col(tab, "day", RPT_S_TEXT);
    rpt_table_add_col(tab, "reports", RPT_S_COUNT);
    rpt_table_add_col(tab, "sessions", RPT_S_COUNT);
    rpt_table_add_col(tab, "failed", RPT_S_FAIL);
    rpt_table_add_col(tab, "tls", RPT_S_RATE);
    rpt_table_add_col(tab, "chart", RPT_S_TEXT);
    for (size_t i = 0; i < t->n; i++) {
        size_t r = rpt_table_add_row(tab);
        double rate = rpt_success_rate(t->ok[i], t->bad[i]);
        long n = max ? lround((double)t->bad[i] * RPT_DAY_BAR / (double)max) : 0;
        if (t->bad[i] > 0 && n < 1)
            n = 1;                       /* any failure stays visible */
        if (n < 0 || n > RPT_DAY_BAR)    /* counts from a hostile database */
            n = n < 0 ? 0 : RPT_DAY_BAR;
        memset(bar, '#', (size_t)n);
        bar[n] = '\0';
        rpt_digest_day_label(t->start[i], label);
        rpt_table_set_text(tab, r, 0, label);
        rpt_table_set_int(tab, r, 1, t->reports[i]);
        rpt_table_set_int(tab, r, 2, t->ok[i] + t->bad[i]);
        rpt_table_set_int(tab, r, 3, t->bad[i]);
        if (rate >= 0)
            rpt_table_set_real(tab, r, 4, rate);
        rpt_table_set_text(tab, r, 5, bar);
    }
    rpt_out_table(&o, tab);
    rpt_table_free(tab);
}

/* ---------------------------------------------------------------- the HTML part */

static const char *sev_colour(enum rpt_severity s)
{
    return s == RPT_SEV_CRITICAL ? C_BAD : s == RPT_SEV_WARNING ? C_WARN : C_INFO;
}

static const char *sev_background(enum rpt_severity s)
{
    return s == RPT_SEV_CRITICAL ? "#fef2f2" : s == RPT_SEV_WARNING ? "#fffbeb" : "#eff6ff";
}

/* Parts of one line of a finding's details: "label value", separated by
 * a middle dot; *n counts the parts of the line.  value is report text
 * (or a DNS name with dns). */
static void part(struct tr_buf *b, int *n, const char *label, const char *value, int dns)
{
    if ((*n)++ == 0)
        rpt_html_put(b, "<div style=\"" FONT "font-size:13px;color:#111827;margin-top:3px;overflow-wrap:anywhere;\">");
    else
        rpt_html_put(b, " <span style=\"color:" C_MUTED ";\">&middot;</span> ");
    if (label)       /* capitalized at the start of the line: "MX", "Type", "Seen" */
        rpt_html_put(b, "<span style=\"color:" C_MUTED ";\">%c%s</span> ",
                     *n == 1 && label[0] >= 'a' && label[0] <= 'z' ? label[0] - 'a' + 'A' : label[0], label + 1);
    if (dns)
        rpt_html_esc_dns(b, value);
    else
        rpt_html_esc_prose(b, value);
}

static void line_end(struct tr_buf *b, int *n)
{
    if (*n)
        rpt_html_put(b, "</div>");
    *n = 0;
}

/* One finding as a card: severity, domain and code; where, how much and
 * when; who and why; the evidence, what it means (not for info) and what
 * to change; the policy strings involved. */
static void finding(struct tr_buf *b, const struct rpt_finding *f)
{
    char *counts = rpt_digest_finding_counts(f), days[RPT_PERIOD_MAX];
    int n = 0;

    rpt_html_put(b, "<tr><td style=\"padding:4px 16px 6px 16px;\"><table role=\"presentation\" width=\"100%%\" "
           "cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%%;border-collapse:collapse;"
           "border-left:4px solid %s;background:%s;\"><tr><td style=\"padding:8px 12px;\">",
        sev_colour(f->severity), sev_background(f->severity));
    rpt_html_put(b, "<div style=\"" FONT "font-size:14px;color:#111827;\"><span style=\"display:inline-block;"
           "padding:1px 6px;border-radius:3px;background:%s;color:#ffffff;font-size:11px;font-weight:700;"
           "letter-spacing:0.04em;\">%s</span> <b>", sev_colour(f->severity),
        f->severity == RPT_SEV_CRITICAL ? "CRITICAL" : f->severity == RPT_SEV_WARNING ? "WARNING" : "INFO");
    if (f->domain)
        rpt_html_esc_dns(b, f->domain);
    else
        rpt_html_put(b, "all domains");
    rpt_html_put(b, "</b> <span style=\"font-family:Menlo,Consolas,monospace;font-size:12px;color:" C_MUTED ";\">");
    rpt_html_esc(b, f->code);
    rpt_html_put(b, "</span></div>");
    if (f->mx)
        part(b, &n, "MX", f->mx, 1);
    if (f->type)
        part(b, &n, "type", f->type, 0);
    if (counts[0])
        part(b, &n, NULL, counts, 0);
    rpt_digest_finding_days(f, days);
    if (days[0])
        part(b, &n, "seen", days, 0);
    line_end(b, &n);
    if (f->orgs)
        part(b, &n, "Senders", f->orgs, 0);
    if (f->reasons)
        part(b, &n, "Reason codes", f->reasons, 0);
    line_end(b, &n);
    if (f->evidence) {
        part(b, &n, NULL, f->evidence, 0);
        line_end(b, &n);
    }
    if (f->meaning && f->severity != RPT_SEV_INFO) {
        part(b, &n, "What it means:", f->meaning, 0);
        line_end(b, &n);
    }
    if (f->fix) {
        rpt_html_put(b, "<div style=\"" FONT "font-size:13px;color:#111827;margin-top:3px;overflow-wrap:anywhere;\">"
               "<b>What to change:</b> ");
        rpt_html_esc_prose(b, f->fix);
        rpt_html_put(b, "</div>");
    }
    if (f->policies && f->severity != RPT_SEV_INFO) {
        rpt_html_put(b, "<pre style=\"margin:6px 0 0 0;padding:6px 8px;background:#ffffff;border:1px solid " C_LINE ";"
               "font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;"
               "overflow-wrap:anywhere;color:#111827;\">");
        rpt_html_esc_prose_safe(b, rpt_lines_escape(f->policies));
        rpt_html_put(b, "</pre>");
    }
    rpt_html_put(b, "</td></tr></table></td></tr>");
    free(counts);
}

/* "What needs attention": the findings of the window, worst first. */
void rpt_digest_html_attention(struct tr_buf *b, const struct rpt_digest *d)
{
    const struct rpt_findings *f = d->findings;
    char window[RPT_PERIOD_MAX], num[RPT_NUM_MAX];
    size_t shown;

    rpt_digest_period(d->find_since, d->until, window);
    rpt_html_section(b, "What needs attention");
    rpt_html_put(b, "<tr><td style=\"padding:0 24px 6px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
           "Findings of the %d days " NOWRAP "%s</span> (UTC), compared with the %d days before.</td></tr>",
        RPT_FIND_DEFAULT_DAYS, window, RPT_FIND_DEFAULT_DAYS);
    if (f == NULL || f->n_critical + f->n_warning == 0)
        rpt_html_put(b, "<tr><td style=\"padding:2px 24px 6px 24px;" FONT "font-size:14px;color:" C_OK ";"
               "font-weight:600;\">Nothing needs attention: no warning or critical finding.</td></tr>");
    if (f == NULL || f->n == 0)
        return;
    rpt_html_put(b, "<tr><td style=\"padding:2px 24px 6px 24px;" FONT "font-size:14px;\">");
    if (f->n_critical)
        rpt_html_put(b, "<span style=\"color:" C_BAD ";font-weight:600;\">%s critical</span>",
            rpt_fmt_count((int64_t)f->n_critical, num));
    if (f->n_warning)
        rpt_html_put(b, "%s<span style=\"color:" C_WARN ";font-weight:600;\">%s warning%s</span>",
                     f->n_critical ? ", " : "",
            rpt_fmt_count((int64_t)f->n_warning, num), f->n_warning == 1 ? "" : "s");
    if (f->n_info)
        rpt_html_put(b, "%s<span style=\"color:" C_INFO ";\">%s info</span>", f->n_critical + f->n_warning ? ", " : "",
            rpt_fmt_count((int64_t)f->n_info, num));
    rpt_html_put(b, "</td></tr>");
    if (f->pipeline_stopped)
        rpt_html_put(b, "<tr><td style=\"padding:2px 24px 6px 24px;" FONT "font-size:14px;font-weight:600;"
                        "color:" C_BAD ";\">"
               "The capture pipeline has stopped: reports are not being stored.</td></tr>");
    shown = f->n < RPT_DIGEST_MAX_FINDINGS ? f->n : RPT_DIGEST_MAX_FINDINGS;
    for (size_t i = 0; i < shown; i++)
        finding(b, &f->v[i]);
    if (f->n + f->dropped > shown)
        rpt_html_put(b, "<tr><td style=\"padding:0 24px 8px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
               "&hellip; and %zu more findings (tlsrpt-report findings)</td></tr>", f->n + f->dropped - shown);
}

/* Sessions and failed sessions per day of the findings' window: two bars
 * a day, sessions scaled to the busiest day, failures to the worst. */
void rpt_digest_html_days(struct tr_buf *b, const struct rpt_digest *d)
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
    rpt_html_section(b, "Sessions and failures per day");
    rpt_html_put(b, "<tr><td style=\"padding:0 24px 4px 24px;" FONT "font-size:12px;color:" C_MUTED ";\">"
           NOWRAP "%s</span> (UTC), the window of the findings.</td></tr>", window);
    rpt_html_table_open(b);
    rpt_html_put(b, "<tr>");
    rpt_html_th(b, "Day", 0); rpt_html_th(b, "Sessions", 1); rpt_html_th(b, "", 0);
    rpt_html_th(b, "Failed", 1); rpt_html_th(b, "", 0); rpt_html_th(b, "TLS", 1);
    rpt_html_put(b, "</tr>");
    for (size_t i = 0; i < t->n; i++) {
        int64_t n = t->ok[i] + t->bad[i];
        double rate = rpt_success_rate(t->ok[i], t->bad[i]);
        rpt_digest_day_label(t->start[i], label);
        rpt_html_put(b, "<tr>");
        rpt_html_td_open(b, 0);
        rpt_html_put(b, "<span style=\"white-space:nowrap;\">%s</span></td>", label);
        rpt_html_td_count(b, n);
        rpt_html_bar_cell(b, 120);
        rpt_html_bar(b, max_s ? (double)n * 100.0 / (double)max_s : 0, C_SESSIONS, 0);
        rpt_html_put(b, "</td>");
        rpt_html_td_open(b, 1);
        rpt_html_put(b, "<span style=\"color:%s;font-weight:%s;\">%s</span></td>", t->bad[i] ? C_BAD : "#111827",
            t->bad[i] ? "600" : "400", rpt_fmt_count(t->bad[i], num));
        rpt_html_bar_cell(b, 80);
        rpt_html_bar(b, max_f ? (double)t->bad[i] * 100.0 / (double)max_f : 0, C_BAD, 0);
        rpt_html_put(b, "</td>");
        rpt_html_td_open(b, 1);
        if (rate >= 0)
            rpt_html_put(b, "%.2f%%</td>", rate);
        else
            rpt_html_put(b, "&ndash;</td>");
        rpt_html_put(b, "</tr>");
    }
    rpt_html_put(b, "</table></td></tr>");
}
