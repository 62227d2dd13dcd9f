/*
 * dashchart.c - the dashboard's HTML writer, its style sheet and its SVG
 * charts (dashchart.h).
 *
 * SVG written by hand: fixed geometry (CH_*), coordinates printed with two
 * decimals, a left axis labelled at 0, half and the top of a 1-2-5 scale,
 * day labels under the slots (at most CH_DAY_LABELS; an incomplete day
 * marked "*" and drawn pale), a <title> for the chart (aria-labelledby)
 * and for every bar and point.  Colours come from the page's <style>,
 * except the failure types' palette.
 */
#include "dashchart.h"
#include "dashboard.h"
#include "args.h"
#include "output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chart geometry in CSS pixels (the SVG's user units). */
#define CH_W 760            /* whole chart width */
#define CH_LEFT 64          /* left axis labels */
#define CH_RIGHT 56         /* right axis labels (success rate) */
#define CH_TOP 12
#define CH_BOTTOM 34        /* day labels */
#define CH_SESS_H 150       /* plot height of the sessions chart */
#define CH_FAIL_H 120       /* plot height of the failures chart */
#define CH_DAY_LABELS 14    /* most day labels under a chart */
#define CH_BAR 0.7          /* bar width, share of its day's slot */
#define CH_NO_REPORT_W 56   /* narrowest slot that says "no report" */

static const char *const type_colour[RPT_DASH_CHART_TYPES] = {
    "#b91c1c", "#ea580c", "#a16207", "#7c3aed", "#db2777", "#0e7490", "#4d7c0f", "#6b7280",
};
#define OTHER_TYPES "(other types)"

/* The page's only style: one <style> block, no remote font or image. */
const char rpt_dash_css[] =
    "body{margin:0;background:#f3f4f6;color:#111827;font:14px/1.45 -apple-system,'Segoe UI',"
    "Helvetica,Arial,sans-serif}\n"
    "main{max-width:1000px;margin:0 auto;padding:16px}\n"
    "h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:0 0 4px}"
    "h3{font-size:14px;margin:18px 0 6px;color:#374151}\n"
    "section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px 20px;margin:16px 0}\n"
    ".muted{color:#6b7280}.bad{color:#b91c1c}.ok{color:#15803d}\n"
    "table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #f3f4f6;"
    "text-align:left;vertical-align:top;overflow-wrap:anywhere}\n"
    "th{font-size:12px;color:#6b7280;border-bottom:1px solid #e5e7eb}"
    "td.n,th.n{text-align:right;white-space:nowrap}th{white-space:nowrap}td:first-child{min-width:9em}\n"
    ".tw{overflow-x:auto}\n"
    "@media (max-width:600px){main{padding:6px}section{padding:10px 12px}th,td{padding:3px 4px}}\n"
    "pre{margin:0;white-space:pre-wrap;word-break:break-all;font:12px Menlo,Consolas,monospace}\n"
    /* the charts (dashchart.c) */
    "svg{display:block;max-width:100%;height:auto}svg text{font:11px sans-serif;fill:#6b7280}\n"
    "svg .grid{stroke:#e5e7eb}svg .axis{stroke:#9ca3af}svg text.nr{fill:#b45309;font-style:italic}\n"
    "svg .s{fill:#93c5fd}svg .rate{fill:none;stroke:#15803d;stroke-width:2}svg .r{fill:#15803d}"
    "svg .part{opacity:.45}\n"
    ".legend span{display:inline-block;margin-right:14px;font-size:12px}"
    ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}\n"
    "h3 .legend{font-weight:400;margin-left:12px}.ks{background:#93c5fd}.kr{background:#15803d}\n"
    /* the findings */
    ".finding{border-left:6px solid #6b7280;padding:4px 12px;margin:6px 0;background:#f9fafb}\n"
    ".finding summary,.more>summary{cursor:pointer}.finding[open] summary{margin-bottom:4px}"
    ".more>summary{margin:8px 0;color:#374151}\n"
    ".finding.critical{border-color:#b91c1c}.finding.warning{border-color:#d97706}"
    ".finding.info{border-color:#2563eb}\n"
    ".finding p{margin:4px 0}.sev{font-weight:700;text-transform:uppercase;font-size:12px}\n"
    ".critical .sev{color:#b91c1c}.warning .sev{color:#b45309}.info .sev{color:#1d4ed8}\n";

void rpt_page_put(struct rpt_html *h, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (tr_buf_vprintf(&h->b, fmt, ap) < 0)
        h->overflow = 1;
    va_end(ap);
}

void rpt_page_esc(struct rpt_html *h, const char *s, int keep_lines)
{
    if (rpt_html_append(&h->b, s, keep_lines) < 0)
        h->overflow = 1;
}

void rpt_page_day(struct rpt_html *h, int64_t t)
{
    char day[RPT_LABEL_MAX];
    rpt_fmt_date(t, day);
    rpt_page_put(h, "<td class=\"n\">%s</td>", day);
}

void rpt_page_more(struct rpt_html *h, size_t more, const char *what)
{
    if (more > 0)
        rpt_page_put(h, "<p class=\"muted\">... and %zu more %s (narrow the window or use --domain).</p>\n",
                     more, what);
}

int rpt_chart_partial(const struct rpt_chart_days *cd, int64_t day)
{
    return day + 86400 > cd->until || day + 86400 > cd->now;
}

/* Smallest 1, 2 or 5 times a power of ten at least v (1 for v <= 1). */
static double nice_max(double v)
{
    double p = 1;
    if (v <= 1)
        return 1;
    while (p * 10 <= v)
        p *= 10;
    return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

static double slot_w(const struct rpt_chart_days *cd)
{
    return (double)(CH_W - CH_LEFT - CH_RIGHT) / (double)cd->ndays;
}

/* x of the left edge of day i's slot. */
static double slot_x(const struct rpt_chart_days *cd, size_t i)
{
    return CH_LEFT + slot_w(cd) * (double)i;
}

/* The chart's frame: its title, the plot area's geometry as data-*, grid
 * lines and labels of the left axis (0, half, max), the day labels. */
static void chart_open(struct rpt_html *h, const struct rpt_chart_days *cd, const char *cls, size_t id,
                       const char *what, const char *domain, int plot_h, double max)
{
    int height = CH_TOP + plot_h + CH_BOTTOM;
    size_t every = (cd->ndays + CH_DAY_LABELS - 1) / CH_DAY_LABELS;
    char n1[RPT_NUM_MAX];

    rpt_page_put(h, "<svg class=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                    "aria-labelledby=\"t%s%zu\" data-domain=\"", cls, CH_W, height, CH_W, height, cls, id);
    rpt_page_esc(h, domain, 0);
    rpt_page_put(h, "\"><title id=\"t%s%zu\">%s per day, ", cls, id, what);
    rpt_page_esc(h, domain, 0);
    rpt_page_put(h, "</title>\n<g class=\"plot\" data-x=\"%d\" data-y=\"%d\" data-width=\"%d\" "
                    "data-height=\"%d\" data-max=\"%.2f\">\n", CH_LEFT, CH_TOP, CH_W - CH_LEFT - CH_RIGHT,
                 plot_h, max);
    for (int k = 0; k <= 2; k++) {
        double y = CH_TOP + plot_h - plot_h * k / 2.0, v = max * k / 2.0;
        rpt_page_put(h, "<line class=\"%s\" x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\"/>", k ? "grid" : "axis",
                     CH_LEFT, y, CH_W - CH_RIGHT, y);
        if (v == (double)(int64_t)v)
            rpt_page_put(h, "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n", CH_LEFT - 6, y + 4,
                         rpt_fmt_count((int64_t)v, n1));
    }
    for (size_t i = 0; i < cd->ndays; i += every) {
        char day[RPT_LABEL_MAX];
        int64_t t = cd->day0 + (int64_t)i * 86400;
        rpt_fmt_date(t, day);
        rpt_page_put(h, "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%s%s</text>",
                     slot_x(cd, i) + slot_w(cd) / 2, CH_TOP + plot_h + 16, day + 5,    /* "MM-DD" */
                     rpt_chart_partial(cd, t) ? "*" : "");
    }
    rpt_page_put(h, "\n");
}

static void chart_close(struct rpt_html *h)
{
    rpt_page_put(h, "</g></svg>\n");
}

/* Lowest success rate the right axis shows: the largest of 99, 95, 90,
 * 80, 50 and 0 at or below every day's rate. */
static double rate_floor(const struct rpt_chart_days *cd, const int64_t *ok, const int64_t *bad)
{
    static const double steps[] = {99, 95, 90, 80, 50, 0};
    double lo = 100;
    for (size_t i = 0; i < cd->ndays; i++) {
        double r = rpt_success_rate(ok[i], bad[i]);
        if (r >= 0 && r < lo)
            lo = r;
    }
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
        if (steps[k] <= lo)
            return steps[k];
    return 0;
}

void rpt_chart_sessions(struct rpt_html *h, const struct rpt_chart_days *cd, size_t id, const char *domain,
                        const int64_t *reports, const int64_t *ok, const int64_t *bad)
{
    int64_t most = 0;
    double max, lo = rate_floor(cd, ok, bad), w = slot_w(cd), bw = w * CH_BAR;
    int open = 0;
    char n1[RPT_NUM_MAX], n2[RPT_NUM_MAX], day[RPT_LABEL_MAX];

    for (size_t i = 0; i < cd->ndays; i++)
        if (ok[i] + bad[i] > most)
            most = ok[i] + bad[i];
    max = nice_max((double)most);
    rpt_page_put(h, "<h3>Sessions per day <span class=\"legend\"><span><i class=\"ks\"></i>sessions (left "
                    "axis)</span><span><i class=\"kr\"></i>success rate, %% with TLS (right axis)</span></span>"
                    "</h3>\n");
    chart_open(h, cd, "sessions", id, "Sessions and success rate", domain, CH_SESS_H, max);
    rpt_page_put(h, "<g class=\"rate-axis\" data-rate-min=\"%.2f\">", lo);
    for (int k = 0; k <= 2; k++)
        rpt_page_put(h, "<text x=\"%d\" y=\"%.2f\">%.1f%%</text>", CH_W - CH_RIGHT + 6,
                     CH_TOP + CH_SESS_H - CH_SESS_H * k / 2.0 + 4, lo + (100 - lo) * k / 2.0);
    rpt_page_put(h, "</g>\n");
    for (size_t i = 0; i < cd->ndays; i++) {
        int64_t n = ok[i] + bad[i], t = cd->day0 + (int64_t)i * 86400;
        double bh = (double)n / max * CH_SESS_H;
        rpt_fmt_date(t, day);
        rpt_page_put(h, "<rect class=\"s%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                        "data-day=\"%s\" data-value=\"%lld\"><title>%s: %s sessions, %s report%s%s</title></rect>\n",
                     rpt_chart_partial(cd, t) ? " part" : "", slot_x(cd, i) + (w - bw) / 2,
                     CH_TOP + CH_SESS_H - bh, bw, bh, day, (long long)n, day, rpt_fmt_count(n, n1),
                     rpt_fmt_count(reports[i], n2), reports[i] == 1 ? "" : "s",
                     rpt_chart_partial(cd, t) ? " (incomplete day)" : "");
    }
    /* A day without any report is not a clean day: say so where it fits. */
    for (size_t i = 0; w >= CH_NO_REPORT_W && i < cd->ndays; i++)
        if (reports[i] == 0)
            rpt_page_put(h, "<text class=\"nr\" x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">no report</text>",
                         slot_x(cd, i) + w / 2, CH_TOP + CH_SESS_H - 6);
    /* The line: one polyline per run of days with sessions. */
    for (size_t i = 0; i <= cd->ndays; i++) {
        double r = i < cd->ndays ? rpt_success_rate(ok[i], bad[i]) : -1;
        if (r >= 0) {
            rpt_page_put(h, "%s%.2f,%.2f", open ? " " : "<polyline class=\"rate\" points=\"",
                         slot_x(cd, i) + w / 2, CH_TOP + (100 - r) / (100 - lo) * CH_SESS_H);
            open = 1;
        } else if (open) {
            rpt_page_put(h, "\"/>\n");
            open = 0;
        }
    }
    for (size_t i = 0; i < cd->ndays; i++) {
        double r = rpt_success_rate(ok[i], bad[i]);
        if (r < 0)
            continue;
        rpt_fmt_date(cd->day0 + (int64_t)i * 86400, day);
        rpt_page_put(h, "<circle class=\"r\" cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" data-day=\"%s\" "
                        "data-value=\"%.2f\"><title>%s: %.2f%% of sessions with TLS</title></circle>\n",
                     slot_x(cd, i) + w / 2, CH_TOP + (100 - r) / (100 - lo) * CH_SESS_H, day, r, day, r);
    }
    chart_close(h);
}

int rpt_chart_type_cmp(const void *a, const void *b)
{
    const struct rpt_chart_type *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return strcmp(x->name, y->name);
}

void rpt_chart_failures(struct rpt_html *h, const struct rpt_chart_days *cd, size_t id, const char *domain,
                        struct rpt_chart_type *types, size_t nt)
{
    size_t shown = nt;
    int64_t most = 0, *cum;
    double max, w = slot_w(cd), bw = w * CH_BAR;
    char n1[RPT_NUM_MAX], day[RPT_LABEL_MAX];

    rpt_page_put(h, "<h3>Failed sessions per day, by failure type</h3>\n");
    if (nt == 0) {
        rpt_page_put(h, "<p class=\"muted\">No failure details in the window.</p>\n");
        return;
    }
    qsort(types, nt, sizeof *types, rpt_chart_type_cmp);
    if (nt > RPT_DASH_CHART_TYPES) {            /* past the palette: folded into the last colour */
        struct rpt_chart_type *last = &types[RPT_DASH_CHART_TYPES - 1];
        for (size_t t = RPT_DASH_CHART_TYPES; t < nt; t++) {
            last->total += types[t].total;
            for (size_t i = 0; i < cd->ndays; i++)
                last->per_day[i] += types[t].per_day[i];
        }
        last->name = OTHER_TYPES;
        shown = RPT_DASH_CHART_TYPES;
    }
    cum = xcalloc(cd->ndays, sizeof *cum);
    for (size_t i = 0; i < cd->ndays; i++) {
        int64_t sum = 0;
        for (size_t t = 0; t < shown; t++)
            sum += types[t].per_day[i];
        if (sum > most)
            most = sum;
    }
    max = nice_max((double)most);
    chart_open(h, cd, "failures", id, "Failed sessions by type", domain, CH_FAIL_H, max);
    for (size_t t = 0; t < shown; t++)
        for (size_t i = 0; i < cd->ndays; i++) {
            int64_t n = types[t].per_day[i], at = cd->day0 + (int64_t)i * 86400;
            double y1 = CH_TOP + CH_FAIL_H - (double)cum[i] / max * CH_FAIL_H;
            double y0 = CH_TOP + CH_FAIL_H - (double)(cum[i] + n) / max * CH_FAIL_H;
            if (n == 0)
                continue;
            cum[i] += n;
            rpt_fmt_date(at, day);
            rpt_page_put(h, "<rect class=\"f%s\" fill=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                            "height=\"%.2f\" data-day=\"%s\" data-type=\"", rpt_chart_partial(cd, at) ? " part" : "",
                         type_colour[t], slot_x(cd, i) + (w - bw) / 2, y0, bw, y1 - y0, day);
            rpt_page_esc(h, types[t].name, 0);
            rpt_page_put(h, "\" data-value=\"%lld\"><title>%s: %s failed sessions, ", (long long)n, day,
                         rpt_fmt_count(n, n1));
            rpt_page_esc(h, types[t].name, 0);
            rpt_page_put(h, "</title></rect>\n");
        }
    chart_close(h);
    rpt_page_put(h, "<div class=\"legend\">");
    for (size_t t = 0; t < shown; t++) {
        rpt_page_put(h, "<span><i style=\"background:%s\"></i>", type_colour[t]);
        rpt_page_esc(h, types[t].name, 0);
        rpt_page_put(h, " (%s)</span>", rpt_fmt_count(types[t].total, n1));
    }
    rpt_page_put(h, "</div>\n");
    free(cum);
}
