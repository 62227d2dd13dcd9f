/*
 * dashchart.h - the dashboard's HTML writer and its two SVG charts
 * (dashchart.c) and its findings section (dashfind.c), apart from the
 * page's data (dashboard.c; the policy tables: dashpol.h).
 *
 * The charts span the days of the window, a slot per day.  Every plot
 * area states its geometry (data-x, data-y, data-width, data-height and
 * data-max, the value at its top) and every bar and point its value
 * (data-day, data-value, data-type) and a <title>, so that the drawing can
 * be checked against the numbers (tests/report/dashboard_test.py).
 */
#ifndef RPT_DASHCHART_H
#define RPT_DASHCHART_H

#include <stddef.h>
#include <stdint.h>

#include "tlsrpt/util.h"

/* The page being written: b capped (RPT_DASH_MAX); overflow set once an
 * append did not fit. */
struct rpt_html {
    struct tr_buf b;
    int overflow;
};

/* The page's style sheet (the whole <style> block's content). */
extern const char rpt_dash_css[];

/* Program text (never report data). */
void rpt_page_put(struct rpt_html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report data, escaped by rpt_html_append() (escape.c). */
void rpt_page_esc(struct rpt_html *h, const char *s, int keep_lines);
/* A table cell with the date (YYYY-MM-DD, UTC) of t. */
void rpt_page_day(struct rpt_html *h, int64_t t);
/* "... and N more WHAT" under a table cut at RPT_DASH_MAX_ROWS; nothing
 * for 0. */
void rpt_page_more(struct rpt_html *h, size_t more, const char *what);

/* The days a chart spans: ndays from day0 (UTC seconds); a day is marked
 * incomplete when it ends after until or after now. */
struct rpt_chart_days {
    int64_t day0;
    size_t ndays;
    int64_t until, now;
};
int rpt_chart_partial(const struct rpt_chart_days *cd, int64_t day);

/* Sessions per day (bars, left axis) and the success rate per day (a line
 * with a point per day that had sessions, right axis from the largest of
 * 99, 95, 90, 80, 50, 0 at or below every rate, to 100%).  Arrays of
 * cd->ndays values; id makes the element ids unique in the page. */
void rpt_chart_sessions(struct rpt_html *h, const struct rpt_chart_days *cd, size_t id, const char *domain,
                        const int64_t *reports, const int64_t *ok, const int64_t *bad);

/* One failure type: its failed sessions per day (cd->ndays values, owned
 * by the caller) and their total. */
struct rpt_chart_type {
    const char *name;
    int64_t total;
    int64_t *per_day;
};

/* qsort order of types: most failed sessions first, then by name. */
int rpt_chart_type_cmp(const void *a, const void *b);

/* Failed sessions per day stacked by type, with a legend.  Sorts types
 * (most failed sessions first, at the bottom of each stack); past
 * RPT_DASH_CHART_TYPES types, the rest are added into the last one, which
 * is named "(other types)".  Nothing but a note when nt is 0. */
void rpt_chart_failures(struct rpt_html *h, const struct rpt_chart_days *cd, size_t id, const char *domain,
                        struct rpt_chart_type *types, size_t nt);

/* The findings section: counts, the comparison window, one <details> per
 * finding (dashfind.c).  Nothing when f is NULL. */
struct rpt_findings;
void rpt_dash_findings(struct rpt_html *h, const struct rpt_findings *f);

#endif
