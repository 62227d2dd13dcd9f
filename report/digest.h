/*
 * digest.h - the content of the summary email: one period compared with
 * the period of the same length just before it, and, first, what needs
 * attention: the findings (findings.h) of the RPT_FIND_DEFAULT_DAYS days
 * ending where the period ends, with sessions and failures per day of
 * that window.  Built from the queries in query.h, trend.h and
 * findings.h, rendered as the Subject, the text/plain body (digest.c,
 * attention.c) and the text/html body (html.c); email.c wraps them in a
 * MIME message.
 */
#ifndef RPT_DIGEST_H
#define RPT_DIGEST_H

#include <stdint.h>
#include <stdio.h>
#include <sqlite3.h>

#include "findings.h"
#include "output.h"
#include "query.h"
#include "trend.h"

/* Rows of the failures table in the email before "... and N more". */
#define RPT_DIGEST_MAX_ROWS 50
/* Policy domains named in the Subject before it says "N domains". */
#define RPT_SUBJECT_MAX_DOMAINS 2

/* Findings shown in the email before "... and N more" (all of them are
 * counted in the Subject and listed by tlsrpt-report findings). */
#define RPT_DIGEST_MAX_FINDINGS 40

struct rpt_digest_domain {
    char *domain;                        /* owned */
    int64_t reports, ok, bad;            /* this period */
    int64_t prev_reports, prev_ok, prev_bad;
};

/* Owns everything it points to. */
struct rpt_digest {
    int64_t since, until;                /* this period [since, until) */
    int64_t prev_since;                  /* previous period [prev_since, since) */
    int64_t reports, ok, bad;            /* totals from the summaries */
    int64_t detail_failed;               /* failed sessions from the details */
    struct rpt_digest_domain *domains;   /* worst first: most failed sessions, then lowest rate */
    size_t n_domains;
    struct rpt_table *failures;          /* type, org, mx, failed_sessions */
    struct rpt_table *new_types;         /* type, failed_sessions */
    struct rpt_table *new_mx;            /* mx, failed_sessions */
    struct rpt_table *silent;            /* org, domain, reports (previous period) */
    struct rpt_table *policies;          /* rpt_q_policy_strings() */
    char *filter_domains;                /* --domain values joined, or NULL */
    long backlog;                        /* reports waiting in the milter's spool (backlog.h), set by the caller */
    struct rpt_findings *findings;       /* the findings window [find_since, until), same filters */
    int64_t find_since;
    struct rpt_trend *days;              /* reports, sessions, failed sessions per day of that window */
};

/* Queries everything for the period in s, and the findings (thresholds
 * fo, NULL for the defaults) and days of the RPT_FIND_DEFAULT_DAYS days
 * ending at s->until, as of now.  *out caller-owned. */
int rpt_digest_build(sqlite3 *db, const struct rpt_scope *s, const struct rpt_find_opts *fo, int64_t now,
                     struct rpt_digest **out, struct tr_err *err);

/* The findings' thresholds from the options (--warn-rate, --crit-rate,
 * --silent-days, --stopped-days, --ready-days; the defaults where not
 * given), as `findings` takes them.  Returns 0, or -1 with err (TR_E_USAGE)
 * when the warning rate is above the critical one. */
int rpt_digest_find_opts(const struct rpt_opts *o, struct rpt_find_opts *fo, struct tr_err *err);
void rpt_digest_free(struct rpt_digest *d);

/* 1 when the period had no failed session (by summary or detail) and no
 * report waits in the spool (--only-if-failures). */
int rpt_digest_clean(const struct rpt_digest *d);

/* 1 when there is no warning or critical finding, the capture pipeline
 * has not stopped and no report waits in the spool (--only-if-findings):
 * a broken capture is never quiet. */
int rpt_digest_quiet(const struct rpt_digest *d);

/* "TLS-RPT example.com 2026-11-22: 2 critical, 1 warning; 3 failed of
 * 1,204 sessions (99.75% TLS)", "...: all clean; ..." when there is no
 * warning or critical finding (and no spool backlog).  Report data in it
 * is terminal-escaped (no control characters).  Caller owns it. */
char *rpt_digest_subject(const struct rpt_digest *d);
/* "2026-11-22" or "2026-11-16 to 2026-11-22" (inclusive days) into buf
 * (RPT_PERIOD_MAX bytes). */
#define RPT_PERIOD_MAX (2 * RPT_LABEL_MAX + 8)
void rpt_digest_period(int64_t since, int64_t until, char *buf);

/* The text/plain body (UTF-8, report data escaped).  Caller owns it. */
char *rpt_digest_text(const struct rpt_digest *d);

/* attention.c: the text part's "What needs attention" section (the
 * findings with severity, evidence, meaning and fix) and its per-day
 * table of the findings window, appended to fp.  Names are never cut:
 * long lines are wrapped at spaces only. */
void rpt_digest_text_attention(FILE *fp, const struct rpt_digest *d);
void rpt_digest_text_days(FILE *fp, const struct rpt_digest *d);
/* The same two sections as rows of html.c's layout table, appended to b. */
void rpt_digest_html_attention(struct tr_buf *b, const struct rpt_digest *d);
void rpt_digest_html_days(struct tr_buf *b, const struct rpt_digest *d);
/* "12 of 1,204 sessions failed (1.00%)", or the part of it that applies
 * to f ("" when none does).  Caller owns it. */
char *rpt_digest_finding_counts(const struct rpt_finding *f);
/* The days f was seen, "2026-11-17 to 2026-11-22" or one day, into buf
 * (RPT_PERIOD_MAX bytes); "" when f has none. */
void rpt_digest_finding_days(const struct rpt_finding *f, char *buf);
/* "2026-11-16 Mon" for the day starting at t, into buf (RPT_DAY_LABEL_MAX). */
#define RPT_DAY_LABEL_MAX (RPT_LABEL_MAX + 8)
void rpt_digest_day_label(int64_t t, char *buf);

/* The text/html body (html.c): one self-contained document, inline styles
 * only, every report string HTML-escaped.  Caller owns it. */
char *rpt_digest_html(const struct rpt_digest *d);

#endif
