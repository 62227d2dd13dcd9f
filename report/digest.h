/*
 * digest.h - the content of the summary email: one period compared with
 * the period of the same length just before it.  Built from the queries
 * in query.h, rendered as the Subject, the text/plain body (here) and the
 * text/html body (html.c); email.c wraps them in a MIME message.
 */
#ifndef RPT_DIGEST_H
#define RPT_DIGEST_H

#include <stdint.h>
#include <sqlite3.h>

#include "output.h"
#include "query.h"

/* Rows of the failures table in the email before "... and N more". */
#define RPT_DIGEST_MAX_ROWS 50
/* Policy domains named in the Subject before it says "N domains". */
#define RPT_SUBJECT_MAX_DOMAINS 2

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
    struct rpt_digest_domain *domains;
    size_t n_domains;
    struct rpt_table *failures;          /* type, org, mx, failed_sessions */
    struct rpt_table *new_types;         /* type, failed_sessions */
    struct rpt_table *new_mx;            /* mx, failed_sessions */
    struct rpt_table *silent;            /* org, domain, reports (previous period) */
    struct rpt_table *policies;          /* rpt_q_policy_strings() */
    char *filter_domains;                /* --domain values joined, or NULL */
    long backlog;                        /* reports waiting in the milter's spool (backlog.h), set by the caller */
};

/* Queries everything for the period in s.  *out caller-owned. */
int rpt_digest_build(sqlite3 *db, const struct rpt_scope *s, struct rpt_digest **out,
                     struct tr_err *err);
void rpt_digest_free(struct rpt_digest *d);

/* 1 when the period had no failed session (by summary or detail) and no
 * report waits in the spool. */
int rpt_digest_clean(const struct rpt_digest *d);

/* "TLS-RPT example.com 2026-11-22: 3 failed of 1,204 sessions (99.75% TLS)".
 * Report data in it is terminal-escaped (no control characters).  Caller
 * owns it. */
char *rpt_digest_subject(const struct rpt_digest *d);
/* "2026-11-22" or "2026-11-16 to 2026-11-22" (inclusive days) into buf
 * (RPT_PERIOD_MAX bytes). */
#define RPT_PERIOD_MAX (2 * RPT_LABEL_MAX + 8)
void rpt_digest_period(int64_t since, int64_t until, char *buf);

/* The text/plain body (UTF-8, report data escaped).  Caller owns it. */
char *rpt_digest_text(const struct rpt_digest *d);

/* The text/html body (html.c): one self-contained document, inline styles
 * only, every report string HTML-escaped.  Caller owns it. */
char *rpt_digest_html(const struct rpt_digest *d);

#endif
