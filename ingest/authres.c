/*
 * authres.c - DKIM verdicts from Authentication-Results headers (authres.h).
 *
 * The grammar read here is RFC 8601 section 2.2, leniently:
 *
 *   value    = authserv-id [ CFWS version ] ( CFWS no-result / 1*resinfo )
 *   resinfo  = ";" method [ "/" version ] "=" result
 *              [ "reason" "=" value ] *( ptype "." property "=" pvalue )
 *
 * with comments "( ... )" (nested, backslash-quoted) allowed between any
 * two tokens, and quoted strings allowed for values.  Everything is
 * case-insensitive.  A header whose authserv-id is not trusted is skipped
 * whole: anyone can write an Authentication-Results header, only the
 * MTA's own verifier (which removes forged copies) is believed.
 *
 * The scanner works on the borrowed header value in place and never reads
 * past its NUL; tokens are copied into fixed buffers of AR_TOKEN_MAX bytes
 * (longer ones are truncated, which can only make them not match).
 */
#include "tlsrpt/authres.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AR_TOKEN_MAX 256

const char *tr_dkim_name(enum tr_dkim d)
{
    switch (d) {
    case TR_DKIM_PASS: return "pass";
    case TR_DKIM_FAIL: return "fail";
    case TR_DKIM_NONE: return "none";
    case TR_DKIM_UNCHECKED: break;
    }
    return NULL;
}

/* Skips white space and comments; returns the first other character. */
static const char *skip_cfws(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p != '(')
            return p;
        int depth = 0;
        do {
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
            p++;
        } while (*p != '\0' && depth > 0);
    }
}

/* 1 when c ends a token: white space, a comment, a separator. */
static int is_stop(char c, const char *stops)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '('
        || strchr(stops, c) != NULL;
}

/*
 * Reads a token or quoted string at p (after CFWS) into out, stopping at
 * any character of stops.  Returns the position after it.  An empty token
 * leaves out empty and p unchanged.
 */
static const char *read_token(const char *p, const char *stops, char out[AR_TOKEN_MAX])
{
    size_t n = 0;

    p = skip_cfws(p);
    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"'; p++) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            if (n < AR_TOKEN_MAX - 1)
                out[n++] = *p;
        }
        if (*p == '"')
            p++;
    } else {
        for (; !is_stop(*p, stops); p++)
            if (n < AR_TOKEN_MAX - 1)
                out[n++] = *p;
    }
    out[n] = '\0';
    return p;
}

/* Skips to the ';' that starts the next resinfo (or the end). */
static const char *next_resinfo(const char *p)
{
    while (*p != '\0' && *p != ';') {
        const char *q = skip_cfws(p);
        if (q != p) {
            p = q;
            continue;
        }
        if (*p == '"') {
            char tmp[AR_TOKEN_MAX];
            p = read_token(p, "", tmp);
            continue;
        }
        p++;
    }
    return p;
}

/* The domain of "d", "@d" or "local@d", without a trailing dot. */
static void domain_of(const char *v, char out[AR_TOKEN_MAX])
{
    const char *at = strrchr(v, '@');
    size_t n;

    snprintf(out, AR_TOKEN_MAX, "%s", at ? at + 1 : v);
    n = strlen(out);
    if (n > 0 && out[n - 1] == '.')
        out[n - 1] = '\0';
}

/* 1 when a and b are equal or one is a subdomain of the other, at a dot
 * boundary, ignoring case and a trailing dot. */
static int domains_related(const char *a, const char *b)
{
    char x[AR_TOKEN_MAX], y[AR_TOKEN_MAX];
    const char *lo, *sh;      /* the longer and the shorter name */
    size_t ll, ls;

    domain_of(a, x);
    domain_of(b, y);
    if (strlen(x) >= strlen(y)) {
        lo = x;
        sh = y;
    } else {
        lo = y;
        sh = x;
    }
    ll = strlen(lo);
    ls = strlen(sh);
    if (ls == 0)
        return 0;
    if (ll == ls)
        return strcasecmp(lo, sh) == 0;
    return lo[ll - ls - 1] == '.' && strcasecmp(lo + ll - ls, sh) == 0;
}

/*
 * Reads one resinfo starting after its ';'.  Sets *is_dkim when the method
 * is dkim, *pass when additionally the result is pass and header.d or
 * header.i names a domain related to submitter (may be NULL).  Returns the
 * position of the next ';' or the end.
 */
static const char *read_resinfo(const char *p, const char *submitter, int *is_dkim, int *pass)
{
    char method[AR_TOKEN_MAX], result[AR_TOKEN_MAX], ptype[AR_TOKEN_MAX], value[AR_TOKEN_MAX];
    int dkim_pass;

    *is_dkim = *pass = 0;
    p = read_token(p, ";=/", method);
    p = skip_cfws(p);
    if (*p == '/') {                                 /* method version */
        p = read_token(p + 1, ";=", value);
        p = skip_cfws(p);
    }
    if (*p != '=' || method[0] == '\0')
        return next_resinfo(p);                      /* "none" or garbage */
    p = read_token(p + 1, ";", result);
    if (strcasecmp(method, "dkim") != 0)
        return next_resinfo(p);
    *is_dkim = 1;
    dkim_pass = strcasecmp(result, "pass") == 0;
    /* reason= and ptype.property=value pairs until the next ';' */
    for (;;) {
        p = skip_cfws(p);
        if (*p == '\0' || *p == ';')
            return p;
        const char *before = p;
        p = read_token(p, ";=", ptype);
        p = skip_cfws(p);
        if (*p != '=') {
            if (p == before)
                p++;                                 /* a stray character: step over it */
            continue;
        }
        p = read_token(p + 1, ";", value);
        if (dkim_pass && submitter != NULL
            && (strcasecmp(ptype, "header.d") == 0 || strcasecmp(ptype, "header.i") == 0)
            && domains_related(value, submitter))
            *pass = 1;
    }
}

/* 1 when id is in the trusted list (case-insensitive). */
static int trusted(const char *id, char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] != NULL && strcasecmp(id, ids[i]) == 0)
            return 1;
    return 0;
}

enum tr_dkim tr_authres_dkim(char *const *values, size_t n_values,
                             char *const *trusted_ids, size_t n_trusted,
                             const char *submitter_domain)
{
    int saw_dkim = 0;

    if (n_trusted == 0)
        return TR_DKIM_UNCHECKED;
    for (size_t i = 0; i < n_values; i++) {
        char id[AR_TOKEN_MAX], version[AR_TOKEN_MAX];
        const char *p;

        if (values[i] == NULL)
            continue;
        p = read_token(values[i], ";", id);
        if (id[0] == '\0' || !trusted(id, trusted_ids, n_trusted))
            continue;
        p = skip_cfws(p);
        if (isdigit((unsigned char)*p))              /* optional version */
            p = read_token(p, ";", version);
        p = skip_cfws(p);
        while (*p == ';') {
            int is_dkim, pass;
            p = read_resinfo(p + 1, submitter_domain, &is_dkim, &pass);
            if (pass)
                return TR_DKIM_PASS;
            saw_dkim |= is_dkim;
        }
    }
    return saw_dkim ? TR_DKIM_FAIL : TR_DKIM_NONE;
}
