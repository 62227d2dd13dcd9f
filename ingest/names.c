/*
 * names.c - DNS names from reports in one normalized form (names.h).
 *
 * The fast path is ASCII without an "xn--" label (nearly every name in
 * real reports): trim, drop one trailing dot, lower-case, check.  Only a
 * name with a U-label or an A-label goes through libidn2, which maps
 * (UTS #46: case folding, NFC) and converts to A-labels, and rejects bad
 * punycode.  The result is checked either way, because libidn2 passes
 * ASCII it does not like (spaces, empty labels) through unchanged.
 */
#include "tlsrpt/names.h"
#include "tlsrpt/util.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* 1 when the n bytes at s are an IP address literal: "[...]" (RFC 5321)
 * or an IPv6 address as such. */
static int ip_literal(const char *s, size_t n)
{
    char buf[64];
    unsigned char addr[16];

    if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
        return 1;
    if (n == 0 || n >= sizeof buf || memchr(s, ':', n) == NULL)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

/* 1 when s (lower-cased ASCII) is a valid host name: labels of 1..63
 * letters, digits, '-' or '_', at most TR_NAME_MAX bytes; with
 * TR_NAME_PATTERN the first label may be "*". */
static int valid_host(const char *s, unsigned flags)
{
    size_t len = strlen(s), label = 0;

    if (len == 0 || len > TR_NAME_MAX)
        return 0;
    if ((flags & TR_NAME_PATTERN) && s[0] == '*' && s[1] == '.')
        s += 2;
    for (; *s; s++) {
        char c = *s;
        if (c == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0;
}

/* 1 when the n bytes need libidn2: a non-ASCII byte or an "xn--" label. */
static int needs_idn(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x80)
            return 1;
        if ((i == 0 || s[i - 1] == '.') && n - i >= 4 && strncasecmp(s + i, "xn--", 4) == 0)
            return 1;
    }
    return 0;
}

char *tr_name_normalize(const char *s, unsigned flags, int *invalid)
{
    const char *b = s, *e = s + strlen(s);
    char *out;

    *invalid = 0;
    while (b < e && blank(*b))
        b++;
    while (e > b && blank(e[-1]))
        e--;
    if (b == e)
        return NULL;
    if (e - b > 1 && e[-1] == '.')
        e--;
    if (ip_literal(b, (size_t)(e - b))) {
        out = xstrndup(b, (size_t)(e - b));
        for (char *p = out; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        return out;
    }
    if ((size_t)(e - b) > 4 * TR_NAME_MAX)     /* cannot become a valid name */
        goto bad;
    if (needs_idn(b, (size_t)(e - b))) {
        char *in = xstrndup(b, (size_t)(e - b)), *a = NULL;
        int rc = idn2_lookup_u8((const uint8_t *)in, (uint8_t **)&a, IDN2_NONTRANSITIONAL);
        free(in);
        if (rc != IDN2_OK) {
            idn2_free(a);
            goto bad;
        }
        out = xstrdup(a);
        idn2_free(a);
    } else {
        out = xstrndup(b, (size_t)(e - b));
    }
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (valid_host(out, flags))
        return out;
    free(out);
bad:
    *invalid = 1;
    return xstrdup(s);
}

int tr_name_normalize_in_place(char **s, unsigned flags)
{
    int invalid = 0;
    char *n;

    if (*s == NULL)
        return 0;
    n = tr_name_normalize(*s, flags, &invalid);
    free(*s);
    *s = n;
    return invalid;
}
