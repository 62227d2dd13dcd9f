/*
 * dates.h - datetimes and UTC calendar arithmetic, in one place.
 *
 * Times are int64 UTC seconds since 1970 (the store's unit).  The calendar
 * is the proleptic Gregorian one computed with integers (no time_t, no
 * gmtime), so every year a report can hold (the parser refuses years
 * before 1970 and after 9999; a 9999-12-31T23:59:59 end becomes
 * 10000-01-01) is formatted as what it is, in every output.  Used by the
 * parser, --dump, the rollups (day/week/month buckets) and tlsrpt-report.
 */
#ifndef TLSRPT_DATES_H
#define TLSRPT_DATES_H

#include <stddef.h>
#include <stdint.h>
#include "tlsrpt/util.h"

/* Buffer size for tr_format_datetime() and tr_format_date(): any int64
 * time, "-292277022657-01-27T08:29:52Z" at worst. */
#define TR_DATETIME_MAX 40

/* The plausible window of a report's date range: TLS-RPT did not exist
 * before 2016 (the first drafts), and a report does not end more than
 * TR_DATE_FUTURE_SLACK after it was received.  Outside it the report is
 * stored with the warning "date-range-implausible" (TR_W_DATE_IMPLAUSIBLE). */
#define TR_DATE_EARLIEST      INT64_C(1451606400)    /* 2016-01-01T00:00:00Z */
#define TR_DATE_FUTURE_SLACK  (3 * 86400)

/* RFC 3339 datetime -> UTC seconds.  A missing zone is taken as UTC and
 * sets *no_zone to 1.  Years 1970..9999.  Returns 0 or -1 (err code
 * TR_E_BAD_DATE). */
int tr_parse_datetime(const char *s, int64_t *out, int *no_zone, struct tr_err *err);

/* UTC seconds -> "YYYY-MM-DDTHH:MM:SSZ" (more year digits when needed)
 * in buf of cap bytes (TR_DATETIME_MAX always fits). */
void tr_format_datetime(int64_t t, char *buf, size_t cap);
/* UTC seconds -> "YYYY-MM-DD" of its day; "YYYY-MM" with month_only. */
void tr_format_date(int64_t t, int month_only, char *buf, size_t cap);

/* Days since 1970-01-01 of the date y-m-d, and back. */
int64_t tr_days_from_civil(int64_t y, unsigned m, unsigned d);
void tr_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* The day number of t (floor(t / 86400)), and the day numbers of the
 * Monday of its week and of the 1st of its month. */
int64_t tr_day_of(int64_t t);
int64_t tr_week_of_day(int64_t day);
int64_t tr_month_of_day(int64_t day);
/* The day number of the 1st of the month after the one day is in. */
int64_t tr_next_month_of_day(int64_t day);

/*
 * A time as a user writes it on a command line (tlsrpt-report --since,
 * --until, --now; tlsrpt-ingest --prune-before), relative to now (UTC
 * seconds):
 *   YYYY-MM-DD                    00:00:00 that day (when is_until, the
 *                                 end of that day: --until)
 *   YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]   (also with a space for T);
 *                                 no zone means UTC
 *   Nd, Nw, Nm                    N days, weeks, calendar months before
 *                                 today 00:00 UTC
 *   today, yesterday, monday..sunday   00:00 UTC that day (a weekday is
 *                                 the latest such day, today included);
 *                                 when is_until the end of that day
 *   now
 * Returns 0 or -1 with err (TR_E_USAGE, naming the forms).
 */
int tr_parse_when(const char *s, int64_t now, int is_until, int64_t *out, struct tr_err *err);

/* 1 when [start, end) lies in the plausible window for a report received
 * at now (UTC seconds), else 0. */
int tr_range_plausible(int64_t start, int64_t end, int64_t now);

#endif
