/*
 * test_dates.c - the calendar of ingest/dates.c: day, week and month
 * buckets against the C library's gmtime over a sweep of days, month
 * ends, the formats for every year a report can hold, the plausible
 * window.  (RFC 3339 parsing is tested in test_parse.c.)
 */
#include "check.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/dates.h"

#include <string.h>
#include <time.h>

int main(void)
{
    char buf[TR_DATETIME_MAX];

    /* Every day from 1970 to 2100: the same date as gmtime, the Monday of
     * its week, the 1st of its month and of the next. */
    for (int64_t day = 0; day < 47482; day++) {
        time_t tt = (time_t)(day * 86400 + 43210);
        struct tm tm;
        int64_t y;
        unsigned m, d;
        gmtime_r(&tt, &tm);
        tr_civil_from_days(day, &y, &m, &d);
        if (y != tm.tm_year + 1900 || m != (unsigned)tm.tm_mon + 1 || d != (unsigned)tm.tm_mday
            || tr_days_from_civil(y, m, d) != day || tr_day_of(day * 86400 + 43210) != day
            || tr_week_of_day(day) != day - (tm.tm_wday + 6) % 7
            || tr_month_of_day(day) != day - (tm.tm_mday - 1)) {
            check_fail(__FILE__, __LINE__, "day %lld", (long long)day);
            break;
        }
    }
    check_passed++;
    CHECK_INT(tr_day_of(-1), -1);
    CHECK_INT(tr_day_of(-86400), -1);
    CHECK_INT(tr_next_month_of_day(tr_days_from_civil(2026, 12, 15)), tr_days_from_civil(2027, 1, 1));
    CHECK_INT(tr_next_month_of_day(tr_days_from_civil(2028, 2, 29)), tr_days_from_civil(2028, 3, 1));
    CHECK_INT(tr_next_month_of_day(tr_days_from_civil(9999, 12, 31)), tr_days_from_civil(10000, 1, 1));

    /* The end of a year-9999 report is printed as the date it is. */
    tr_format_datetime(tr_days_from_civil(10000, 1, 1) * 86400, buf, sizeof buf);
    CHECK_STR(buf, "10000-01-01T00:00:00Z");
    tr_format_date(tr_days_from_civil(10000, 1, 1) * 86400 + 5, 0, buf, sizeof buf);
    CHECK_STR(buf, "10000-01-01");
    tr_format_date(tr_days_from_civil(2026, 11, 30) * 86400, 1, buf, sizeof buf);
    CHECK_STR(buf, "2026-11");

    /* The plausible window. */
    {
        int64_t now = tr_days_from_civil(2026, 12, 3) * 86400;
        CHECK(tr_range_plausible(now - 86400, now, now));
        CHECK(tr_range_plausible(TR_DATE_EARLIEST, TR_DATE_EARLIEST + 86400, now));
        CHECK(!tr_range_plausible(TR_DATE_EARLIEST - 1, TR_DATE_EARLIEST + 86400, now));
        CHECK(tr_range_plausible(now, now + TR_DATE_FUTURE_SLACK, now));
        CHECK(!tr_range_plausible(now, now + TR_DATE_FUTURE_SLACK + 1, now));
        CHECK(!tr_range_plausible(tr_days_from_civil(9999, 12, 31) * 86400,
                                  tr_days_from_civil(10000, 1, 1) * 86400, now));
    }

    /* tr_parse_when: the times of --since and --prune-before, one parser. */
    {
        int64_t now = tr_days_from_civil(2026, 12, 3) * 86400 + 13 * 3600, t;   /* a Thursday, 13:00 */
        int64_t today = tr_days_from_civil(2026, 12, 3) * 86400;
        struct tr_err err;
        CHECK(tr_parse_when("400d", now, 0, &t, &err) == 0 && t == today - 400 * 86400);
        CHECK(tr_parse_when("2w", now, 0, &t, &err) == 0 && t == today - 14 * 86400);
        CHECK(tr_parse_when("12m", now, 0, &t, &err) == 0 && t == tr_days_from_civil(2025, 12, 3) * 86400);
        CHECK(tr_parse_when("2025-01-01", now, 0, &t, &err) == 0 && t == tr_days_from_civil(2025, 1, 1) * 86400);
        CHECK(tr_parse_when("2025-01-01", now, 1, &t, &err) == 0 && t == tr_days_from_civil(2025, 1, 2) * 86400);
        CHECK(tr_parse_when("2025-01-01T06:30:00+02:00", now, 0, &t, &err) == 0 &&
              t == tr_days_from_civil(2025, 1, 1) * 86400 + 4 * 3600 + 1800);
        CHECK(tr_parse_when("monday", now, 0, &t, &err) == 0 && t == today - 3 * 86400);
        CHECK(tr_parse_when("now", now, 0, &t, &err) == 0 && t == now);
        CHECK(tr_parse_when("2026-02-31", now, 0, &t, &err) < 0 && tr_err_is(&err, TR_E_USAGE));
        CHECK(tr_parse_when("last tuesday", now, 0, &t, &err) < 0 && tr_err_is(&err, TR_E_USAGE));
    }
    return check_done();
}
