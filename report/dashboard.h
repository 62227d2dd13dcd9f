/*
 * dashboard.h - `tlsrpt-report html`: one self-contained HTML5 page for a
 * window, for a web root (dashboard.c).
 *
 * The page holds the findings first (findings.h), then an overview of the
 * policy domains, then per policy domain (worst first: the most severe
 * finding, then the failure rate): a chart of sessions and success rate
 * per day and a chart of failed sessions by type per day (inline SVG), the
 * MX hosts with failures (failed sessions by type, first and last failure
 * day), the reporting organizations (last report, reports, sessions,
 * failures, success rate) and the policies senders saw (first and last
 * day).  Numbers come from the queries `summary` and `trend` use (query.h),
 * so they are the same.
 *
 * No script, no remote resource, no image file: CSS in one <style> block,
 * charts as inline SVG whose every bar and point carries its value
 * (data-value, and a <title> a browser shows on hover).  Every string from
 * a report is escaped by rpt_html_append() (escape.c).
 */
#ifndef RPT_DASHBOARD_H
#define RPT_DASHBOARD_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "findings.h"
#include "query.h"

/* Cap on the whole page. */
#define RPT_DASH_MAX ((size_t)64 << 20)
/* Longest window the daily charts draw (a bar per day). */
#define RPT_DASH_MAX_DAYS 366
/* Policy domains given a section of their own; the rest are named in the
 * overview's last line ("... and N more: use --domain"). */
#define RPT_DASH_MAX_DOMAINS 100
/* Rows of one table (MX hosts, organizations, policies, overview) before
 * "... and N more". */
#define RPT_DASH_MAX_ROWS 100
/* Findings listed one line each at the top of the page; the rest, and
 * every info finding, are folded under "N more findings". */
#define RPT_DASH_TOP_FINDINGS 20
/* Critical findings shown open (evidence and fix) at the top. */
#define RPT_DASH_OPEN_FINDINGS 5
/* Failure types drawn with a colour of their own in a chart; more types
 * are drawn together as "(other types)". */
#define RPT_DASH_CHART_TYPES 8

/* Builds the page for the window and filters of s, as of now; f (may be
 * NULL: no findings section) is borrowed.  *out caller-owned, *len its
 * length.  Returns 0, or -1 with err (TR_E_DB; TR_E_USAGE for a window
 * longer than RPT_DASH_MAX_DAYS; TR_E_LIMIT_MESSAGE_SIZE past
 * RPT_DASH_MAX). */
int rpt_dashboard_build(sqlite3 *db, const struct rpt_scope *s, const struct rpt_findings *f,
                        int64_t now, char **out, size_t *len, struct tr_err *err);

#endif
