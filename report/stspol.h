/*
 * stspol.h - MTA-STS policy text (RFC 8461 section 3.2): the parser used
 * both for the policy file check fetches and for the policy strings senders
 * put in their reports (one line an element, joined with LF), so the two
 * are compared field by field; and the mx pattern match of section 4.1.
 *
 * Never prints; problems found are collected as (code, text) pairs that
 * check.c turns into results.
 */
#ifndef RPT_STSPOL_H
#define RPT_STSPOL_H

#include <stddef.h>

/* Caps: mx lines kept, problems kept, length of one line. */
#define STSPOL_MX_MAX 64
#define STSPOL_PROBLEMS_MAX 32
#define STSPOL_LINE_MAX 1024
/* max_age bounds (RFC 8461: at most 31557600) and the usual advice. */
#define STSPOL_MAX_AGE_MAX 31557600L
#define STSPOL_MAX_AGE_ADVISED 604800L

struct stspol_problem {
    const char *code;             /* static: a check code of tlsrpt-report(1) */
    int fail;                     /* 1 fail, 0 warn */
    char text[256];
};

struct stspol {
    char version[64];             /* "" when absent */
    char mode[64];                /* as given, "" when absent */
    long max_age;                 /* -1 when absent or not a number */
    char *mx[STSPOL_MX_MAX];      /* owned, n_mx entries */
    size_t n_mx;
    int crlf, lf;                 /* line ends seen */
    struct stspol_problem problems[STSPOL_PROBLEMS_MAX];
    size_t n_problems;
};

/* Parses len bytes of policy text into *p (always filled, free with
 * stspol_free).  Returns 0 when the policy is usable by a sender (version,
 * mode and max_age valid, mx present unless mode none), -1 otherwise; the
 * reasons are in p->problems either way (at most STSPOL_PROBLEMS_MAX:
 * failures are kept before warnings, so -1 always comes with one). */
int stspol_parse(const char *text, size_t len, struct stspol *p);
void stspol_free(struct stspol *p);

/* 1 when pattern ("host" or "*.host") is well formed. */
int stspol_pattern_valid(const char *pattern);
/* 1 when MX host name matches pattern (case-insensitive; a trailing dot on
 * either is ignored; "*." matches exactly one leftmost label). */
int stspol_mx_match(const char *pattern, const char *host);

#endif
