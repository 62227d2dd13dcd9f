/*
 * dates.c - RFC 3339 parsing, formatting and UTC calendar buckets
 * (dates.h).  Integer arithmetic only: no time_t, so no year is cut or
 * turned into an error by the C library (SQLite's strftime() returns NULL
 * past 9999; tlsrpt-report formats stored times here instead).  Also the
 * one parser of times as a user writes them (tlsrpt-report --since,
 * tlsrpt-ingest --prune-before).
 */
#include "tlsrpt/dates.h"
#include "tlsrpt/codes.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* H. Hinnant's days_from_civil: valid for any year range we use. */
int64_t tr_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of tr_days_from_civil(). */
void tr_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Reads exactly n ASCII digits at *s into *v, advancing *s.  0 or -1. */
static int digits(const char **s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (**s < '0' || **s > '9')
            return -1;
        *v = *v * 10 + (**s - '0');
    }
    return 0;
}

/* 1 when the next byte is c (then skipped), else 0. */
static int lit(const char **s, char c)
{
    if (**s != c)
        return 0;
    (*s)++;
    return 1;
}

int tr_parse_datetime(const char *str, int64_t *out, int *no_zone, struct tr_err *err)
{
    static const unsigned char mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char *s = str;
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, leap;
    char buf[80];
    int64_t t;

    *no_zone = 0;
    if (s == NULL)
        goto bad;
    if (digits(&s, 4, &y) < 0 || !lit(&s, '-') || digits(&s, 2, &mo) < 0 || !lit(&s, '-')
        || digits(&s, 2, &d) < 0 || !(lit(&s, 'T') || lit(&s, 't') || lit(&s, ' '))
        || digits(&s, 2, &h) < 0 || !lit(&s, ':') || digits(&s, 2, &mi) < 0 || !lit(&s, ':')
        || digits(&s, 2, &sec) < 0)
        goto bad;
    if (lit(&s, '.')) {             /* fraction: at least one digit, ignored */
        if (*s < '0' || *s > '9')
            goto bad;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (lit(&s, 'Z') || lit(&s, 'z')) {
        /* UTC */
    } else if (*s == '+' || *s == '-') {
        sign = *s++ == '-' ? -1 : 1;
        if (digits(&s, 2, &oh) < 0 || !lit(&s, ':') || digits(&s, 2, &om) < 0 || oh > 23 || om > 59)
            goto bad;
    } else if (*s == '\0') {
        *no_zone = 1;
    }
    if (*s != '\0')
        goto bad;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap)
        || h > 23 || mi > 59 || sec > 60)      /* :60 is RFC 3339's leap second */
        goto bad;
    if (y < 1970) {
        tr_err_set(err, TR_E_BAD_DATE, "'%s': year before 1970", tr_printable(str, strlen(str), buf, sizeof buf));
        return -1;
    }
    t = tr_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec
        - sign * (oh * 3600 + om * 60);
    if (t < 0) {
        tr_err_set(err, TR_E_BAD_DATE, "'%s': before 1970", tr_printable(str, strlen(str), buf, sizeof buf));
        return -1;
    }
    *out = t;
    return 0;
bad:
    tr_err_set(err, TR_E_BAD_DATE, "'%s' is not an RFC 3339 datetime",
               str ? tr_printable(str, strlen(str), buf, sizeof buf) : "(null)");
    return -1;
}

void tr_format_datetime(int64_t t, char *buf, size_t cap)
{
    int64_t days = t / 86400, secs = t % 86400, y;
    unsigned m, d;

    if (cap == 0)
        return;
    if (secs < 0)
        secs += 86400, days--;
    tr_civil_from_days(days, &y, &m, &d);
    snprintf(buf, cap, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

void tr_format_date(int64_t t, int month_only, char *buf, size_t cap)
{
    int64_t y;
    unsigned m, d;

    if (cap == 0)
        return;
    tr_civil_from_days(tr_day_of(t), &y, &m, &d);
    if (month_only)
        snprintf(buf, cap, "%04lld-%02u", (long long)y, m);
    else
        snprintf(buf, cap, "%04lld-%02u-%02u", (long long)y, m, d);
}

int64_t tr_day_of(int64_t t)
{
    return t / 86400 - (t % 86400 < 0);
}

int64_t tr_week_of_day(int64_t day)
{
    /* 1970-01-01 was a Thursday: Monday-based weekday = (day + 3) mod 7. */
    return day - ((day + 3) % 7 + 7) % 7;
}

int64_t tr_month_of_day(int64_t day)
{
    int64_t y;
    unsigned m, d;

    tr_civil_from_days(day, &y, &m, &d);
    return day - (d - 1);
}

int64_t tr_next_month_of_day(int64_t day)
{
    int64_t y;
    unsigned m, d;

    tr_civil_from_days(day, &y, &m, &d);
    return m == 12 ? tr_days_from_civil(y + 1, 1, 1) : tr_days_from_civil(y, m + 1, 1);
}

int tr_range_plausible(int64_t start, int64_t end, int64_t now)
{
    return start >= TR_DATE_EARLIEST && (now > INT64_MAX - TR_DATE_FUTURE_SLACK
                                         || end <= now + TR_DATE_FUTURE_SLACK);
}

/* ---- times as a user writes them (tr_parse_when) ---- */

/* Absolute dates and datetimes; *date_only says no time was given. */
static int parse_absolute(const char *s, int64_t *out, int *date_only)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;

    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    *date_only = (*p == '\0');
    if (*p != '\0') {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return -1;
            if (*p == '.')                      /* fractional seconds: ignored */
                for (p++; isdigit((unsigned char)*p); p++)
                    ;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om;
            p++;
            if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
                return -1;
            off = sign * (oh * 3600 + om * 60);
        }
        if (*p != '\0')
            return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return -1;
    {
        /* The calendar normalizes 2026-02-31 to March: reject what changed. */
        int64_t day = tr_days_from_civil(y, (unsigned)mo, (unsigned)d), cy;
        unsigned cm, cd;
        tr_civil_from_days(day, &cy, &cm, &cd);
        if (cm != (unsigned)mo || cd != (unsigned)d)
            return -1;
        *out = day * 86400 + h * 3600 + mi * 60 + sec - off;
    }
    return 0;
}

static const char *const weekdays[7] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
};

int tr_parse_when(const char *s, int64_t now, int is_until, int64_t *out, struct tr_err *err)
{
    int64_t today = tr_day_of(now) * 86400;
    int date_only = 0;
    char *end;

    if (strcasecmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    /* Named days are like dates: for --until they include the whole day. */
    if (strcasecmp(s, "today") == 0) {
        *out = today + (is_until ? 86400 : 0);
        return 0;
    }
    if (strcasecmp(s, "yesterday") == 0) {
        *out = today - 86400 + (is_until ? 86400 : 0);
        return 0;
    }
    for (int i = 0; i < 7; i++)
        if (strcasecmp(s, weekdays[i]) == 0) {
            int64_t wd = today / 86400 - tr_week_of_day(today / 86400);
            *out = today - ((wd - i + 7) % 7) * 86400 + (is_until ? 86400 : 0);
            return 0;
        }
    if (isdigit((unsigned char)s[0])) {
        long n = strtol(s, &end, 10);
        if (end != s && end[0] != '\0' && end[1] == '\0' && strchr("dwm", end[0]) && n >= 0 && n <= 100000) {
            if (end[0] == 'd' || end[0] == 'w') {
                *out = today - (int64_t)n * (end[0] == 'w' ? 7 : 1) * 86400;
            } else {            /* the same day of the month, n months back */
                int64_t y, back = (int64_t)n;
                unsigned m, d;
                tr_civil_from_days(today / 86400, &y, &m, &d);
                y -= back / 12;
                if ((int64_t)m <= back % 12)
                    y--, m += 12;
                m -= (unsigned)(back % 12);
                /* past the end of a shorter month: into the next, as timegm did */
                *out = (tr_days_from_civil(y, m, 1) + d - 1) * 86400;
            }
            return 0;
        }
    }
    if (parse_absolute(s, out, &date_only) == 0) {
        if (date_only && is_until)
            *out += 86400;
        return 0;
    }
    tr_err_set(err, TR_E_USAGE, "bad date '%s': use YYYY-MM-DD, an ISO datetime, Nd/Nw/Nm, "
               "today, yesterday or a weekday", s);
    return -1;
}
