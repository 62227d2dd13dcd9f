/*
 * stspol.c - MTA-STS policy syntax and mx pattern matching (stspol.h).
 *
 * The grammar (RFC 8461 3.2, erratum 6253 for CRLF): "key: value" lines,
 * keys version, mode, max_age, mx; unknown keys are ignored by senders and
 * only noted here.  Values are checked the way a sender checks them.
 */
#include "stspol.h"
#include "tlsrpt/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void problem(struct stspol *p, const char *code, int fail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(struct stspol *p, const char *code, int fail, const char *fmt, ...)
{
    va_list ap;
    struct stspol_problem *pr;
    if (p->n_problems < STSPOL_PROBLEMS_MAX) {
        pr = &p->problems[p->n_problems++];
    } else {
        /* The list is full: a failure takes the place of the last warning
         * kept, so the verdict (any failure kept) stays right after more
         * than STSPOL_PROBLEMS_MAX warnings; the rest are dropped. */
        size_t k = p->n_problems;
        if (!fail)
            return;
        while (k > 0 && p->problems[k - 1].fail)
            k--;
        if (k == 0)
            return;
        pr = &p->problems[k - 1];
    }
    pr->code = code;
    pr->fail = fail;
    va_start(ap, fmt);
    vsnprintf(pr->text, sizeof pr->text, fmt, ap);
    va_end(ap);
}

/* A DNS label of letters, digits and inner hyphens, 1-63 bytes. */
static int label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

int stspol_pattern_valid(const char *pat)
{
    size_t len = strlen(pat), labels = 0;
    const char *s = pat;
    if (len > 2 && pat[0] == '*' && pat[1] == '.')
        s += 2;
    if (len == 0 || len > 253)
        return 0;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!label_ok(s, n))
            return 0;
        labels++;
        s += n;
        if (*s == '.')
            s++;
    }
    return labels >= 1;             /* a trailing dot ends the loop too */
}

static size_t undotted_len(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

int stspol_mx_match(const char *pattern, const char *host)
{
    size_t pl = undotted_len(pattern), hl = undotted_len(host);
    if (pl > 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* "*.example.com" matches "mx.example.com", not "a.b.example.com"
         * nor "example.com" (RFC 8461 4.1). */
        const char *dot = memchr(host, '.', hl);
        if (dot == NULL || dot == host)
            return 0;
        size_t rest = hl - (size_t)(dot + 1 - host);
        return rest == pl - 2 && strncasecmp(dot + 1, pattern + 2, rest) == 0;
    }
    return pl == hl && strncasecmp(pattern, host, pl) == 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) { (*s)++; (*n)--; }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

static void one_field(struct stspol *p, const char *key, size_t kl, const char *val, size_t vl,
                      int *seen_version, int *seen_mode, int *seen_age)
{
    if (kl == 7 && memcmp(key, "version", 7) == 0) {
        snprintf(p->version, sizeof p->version, "%.*s", (int)vl, val);
        if ((*seen_version)++)
            problem(p, "policy-version", 1, "version given twice");
    } else if (kl == 4 && memcmp(key, "mode", 4) == 0) {
        snprintf(p->mode, sizeof p->mode, "%.*s", (int)vl, val);
        if ((*seen_mode)++)
            problem(p, "policy-mode", 1, "mode given twice");
    } else if (kl == 7 && memcmp(key, "max_age", 7) == 0) {
        long v = -1;
        if (vl >= 1 && vl <= 10) {
            v = 0;
            for (size_t i = 0; i < vl && v >= 0; i++)
                v = isdigit((unsigned char)val[i]) ? v * 10 + (val[i] - '0') : -1;
        }
        p->max_age = v;
        if ((*seen_age)++)
            problem(p, "policy-max-age", 1, "max_age given twice");
        if (v < 0)
            problem(p, "policy-max-age", 1, "max_age '%.*s' is not 1 to 10 digits", (int)(vl > 40 ? 40 : vl), val);
    } else if (kl == 2 && memcmp(key, "mx", 2) == 0) {
        char *pat = xstrndup(val, vl);
        if (!stspol_pattern_valid(pat))
            problem(p, "policy-mx-syntax", 1, "mx pattern '%.200s' is not a host name or *.host name", pat);
        if (p->n_mx < STSPOL_MX_MAX)
            p->mx[p->n_mx++] = pat;
        else {
            problem(p, "policy-mx-syntax", 0, "more than %d mx lines: the rest not checked", STSPOL_MX_MAX);
            free(pat);
        }
    } else {
        problem(p, "policy-unknown-key", 0, "unknown key '%.*s' (senders ignore it)", (int)(kl > 64 ? 64 : kl), key);
    }
}

int stspol_parse(const char *text, size_t len, struct stspol *p)
{
    int seen_version = 0, seen_mode = 0, seen_age = 0;
    size_t i = 0, lineno = 0;

    memset(p, 0, sizeof *p);
    p->max_age = -1;
    while (i < len) {
        size_t start = i, end;
        while (i < len && text[i] != '\n')
            i++;
        end = i;
        if (i < len)
            i++;                                   /* the LF */
        lineno++;
        if (end > start && text[end - 1] == '\r') {
            end--;
            p->crlf = 1;
        } else if (i > end) {
            p->lf = 1;
        }
        const char *line = text + start, *colon;
        size_t n = end - start;
        if (memchr(line, '\r', n) != NULL || memchr(line, '\0', n) != NULL) {
            problem(p, "policy-syntax", 1, "line %zu: a stray CR or NUL", lineno);
            continue;
        }
        trim(&line, &n);
        if (n == 0)
            continue;
        if (n > STSPOL_LINE_MAX) {
            problem(p, "policy-syntax", 1, "line %zu: longer than %d bytes", lineno, STSPOL_LINE_MAX);
            continue;
        }
        colon = memchr(line, ':', n);
        if (colon == NULL) {
            problem(p, "policy-syntax", 1, "line %zu is not 'key: value'", lineno);
            continue;
        }
        const char *key = line, *val = colon + 1;
        size_t kl = (size_t)(colon - line), vl = n - kl - 1;
        trim(&key, &kl);
        trim(&val, &vl);
        one_field(p, key, kl, val, vl, &seen_version, &seen_mode, &seen_age);
    }
    if (p->crlf && p->lf)
        problem(p, "policy-syntax", 0, "mixed CRLF and LF line ends");
    if (strcmp(p->version, "STSv1") != 0)
        problem(p, "policy-version", 1, p->version[0] ? "version '%.60s' is not STSv1" : "%sno version line",
                p->version);
    if (strcmp(p->mode, "enforce") != 0 && strcmp(p->mode, "testing") != 0 && strcmp(p->mode, "none") != 0)
        problem(p, "policy-mode", 1, p->mode[0] ? "mode '%.60s' is not enforce, testing or none" : "%sno mode line",
                p->mode);
    if (!seen_age)
        problem(p, "policy-max-age", 1, "no max_age line");
    else if (p->max_age > STSPOL_MAX_AGE_MAX)
        problem(p, "policy-max-age", 1, "max_age %ld is above the maximum %ld (one year)", p->max_age,
                STSPOL_MAX_AGE_MAX);
    if (p->n_mx == 0 && strcmp(p->mode, "none") != 0)
        problem(p, "policy-mx-syntax", 1, "no mx line: mode %s needs at least one", p->mode[0] ? p->mode : "(none)");
    for (size_t k = 0; k < p->n_problems; k++)
        if (p->problems[k].fail)
            return -1;
    return 0;
}

void stspol_free(struct stspol *p)
{
    for (size_t i = 0; i < p->n_mx; i++)
        free(p->mx[i]);
    p->n_mx = 0;
}
