/*
 * trend.h - sessions, failures by type and success rate per day, week or
 * month, the change against the previous bucket, and sparklines.
 *
 * Every bucket of the window is present, empty ones with zeros, so a
 * sparkline's positions are evenly spaced in time.
 */
#ifndef RPT_TREND_H
#define RPT_TREND_H

#include <stdint.h>
#include <sqlite3.h>
#include <jansson.h>

#include "args.h"
#include "output.h"
#include "query.h"

/* Buckets one trend may span (ten years of days). */
#define RPT_TREND_MAX_BUCKETS 3660
/* Failure types kept as their own series; the rest are summed as "(other)". */
#define RPT_TREND_MAX_TYPES 64
/* Failure-type columns in the terminal table before "(other)". */
#define RPT_TREND_TABLE_TYPES 5
/* Sparkline length: the most recent buckets only. */
#define RPT_SPARK_MAX 60

/* Owns everything it points to. */
struct rpt_trend {
    enum rpt_interval iv;
    int64_t since, until;
    size_t n;                  /* buckets */
    int64_t *start;            /* bucket start times */
    unsigned char *partial;    /* 1: the window covers only part of the bucket
                                  (it starts after the bucket does, or ends
                                  before it does: today, this week), or the
                                  bucket ended less than RPT_REPORT_LAG ago */
    int64_t *reports, *ok, *bad;
    char **types;              /* failure types, most failed sessions first */
    size_t n_types;
    int64_t *by_type;          /* n * n_types, row-major by bucket */
};

/* How long after a day its reports may still arrive: a report covers a
 * UTC day and senders send it during the next one (RFC 8460, 4.1). */
#define RPT_REPORT_LAG 86400

/* Queries the window in s bucketed by iv; now marks the buckets whose
 * reports may still be arriving.  *out is caller-owned (rpt_trend_free).
 * Returns 0 or -1 with err. */
int rpt_trend_build(sqlite3 *db, const struct rpt_scope *s, enum rpt_interval iv, int64_t now,
                    struct rpt_trend **out, struct tr_err *err);
void rpt_trend_free(struct rpt_trend *t);

/* The bucket table: bucket, reports, sessions, failed_sessions,
 * success_rate, rate_change, sessions_change, then one column per failure
 * type (at most max_types, the rest in "(other)").  A partial bucket has
 * no changes, nor has the bucket after it (never compared as if complete);
 * for_terminal marks its label with RPT_TREND_PARTIAL_MARK, otherwise a
 * "partial" column (0 or 1) follows bucket.  Caller owns it. */
struct rpt_table *rpt_trend_table(const struct rpt_trend *t, size_t max_types, int for_terminal);

/* Marks a partial bucket's label on the terminal ("2026-11-23*"). */
#define RPT_TREND_PARTIAL_MARK "*"
/* 1 when some bucket is partial (the terminal then prints a footnote). */
int rpt_trend_has_partial(const struct rpt_trend *t);

/* The series table for the terminal: series, trend (a sparkline over the
 * last RPT_SPARK_MAX complete buckets), previous, latest, change: the last
 * two complete buckets (all buckets, without a change, when none is
 * complete). */
struct rpt_table *rpt_trend_series(const struct rpt_trend *t);

/* The JSON document (see tlsrpt-report(1), trend).  New reference. */
json_t *rpt_trend_json(const struct rpt_trend *t);

/* A sparkline of n values (▁▂▃▄▅▆▇█), a space for NaN.  Caller owns it. */
char *rpt_sparkline(const double *v, size_t n);

#endif
