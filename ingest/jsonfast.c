/*
 * jsonfast.c - the JSON reader for the common case (jsonfast.h).
 *
 * Recursive descent over the text; every value is built with jansson's
 * own constructors in the order json_loadb builds them (an object's key
 * is set after its value is read, duplicates checked before, as in
 * jansson's parse_object), so iteration order and values are the same.
 * A string without escapes is handed to jansson straight from the text;
 * one with escapes is decoded into a scratch buffer first.  Anything
 * unusual returns NULL: the caller asks jansson, which decides.
 */
#include "tlsrpt/jsonfast.h"
#include "tlsrpt/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Integers of up to this many digits cannot overflow json_int_t (long
 * long: 19 digits); longer ones are left to jansson's strtoll. */
#define TR_JSONFAST_INT_DIGITS 18

struct reader {
    const unsigned char *p, *end;
    char *scratch;              /* owned: decoded strings, grown as needed */
    size_t cap;
    int depth;                  /* values open, counted as jansson does */
};

static json_t *read_value(struct reader *r);

static void skip_ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escaped string body [p, q) (q at the closing quote) into
 * r->scratch; its length or -1. */
static long decode(struct reader *r, const unsigned char *p, const unsigned char *q)
{
    size_t o = 0;

    /* Decoding never lengthens: \uXXXX is 6 bytes for at most 3, a
     * surrogate pair 12 for 4, every other escape 2 for 1. */
    if (r->cap < (size_t)(q - p) + 1) {
        r->cap = (size_t)(q - p) + 1;
        r->scratch = xrealloc(r->scratch, r->cap);
    }
    while (p < q) {
        unsigned cp, lo;
        if (*p != '\\') {
            r->scratch[o++] = (char)*p++;
            continue;
        }
        switch (p[1]) {
        case '"': case '\\': case '/': r->scratch[o++] = (char)p[1]; p += 2; continue;
        case 'b': r->scratch[o++] = '\b'; p += 2; continue;
        case 'f': r->scratch[o++] = '\f'; p += 2; continue;
        case 'n': r->scratch[o++] = '\n'; p += 2; continue;
        case 'r': r->scratch[o++] = '\r'; p += 2; continue;
        case 't': r->scratch[o++] = '\t'; p += 2; continue;
        case 'u': break;
        default: return -1;
        }
        if (q - p < 6 || hex4(p + 2, &cp) < 0 || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return -1;
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (q - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
        o += put_utf8(r->scratch + o, cp);
    }
    return (long)o;
}

/* The string at r->p (its opening quote): *s and *len borrowed from the
 * text or r->scratch (valid until the next string).  0 or -1. */
static int read_string(struct reader *r, const char **s, size_t *len)
{
    const unsigned char *start = r->p + 1, *q = start;
    int escaped = 0;

    for (;;) {
        while (q < r->end && *q != '"' && *q != '\\' && *q >= 0x20)
            q++;
        if (q >= r->end || *q < 0x20)
            return -1;              /* unterminated, or a control character */
        if (*q == '"')
            break;
        if (q + 1 >= r->end)
            return -1;
        escaped = 1;
        q += 2;                     /* the escaped character is checked by decode() */
    }
    if (escaped) {
        long n = decode(r, start, q);
        if (n < 0)
            return -1;
        *s = r->scratch;
        *len = (size_t)n;
    } else {
        *s = (const char *)start;
        *len = (size_t)(q - start);
    }
    r->p = q + 1;
    return 0;
}

static json_t *read_number(struct reader *r)
{
    const unsigned char *p = r->p, *digits;
    int neg = 0;
    json_int_t v = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    digits = p;
    if (p >= r->end || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0') {
        p++;
        if (p < r->end && *p >= '0' && *p <= '9')
            return NULL;            /* a leading zero: jansson refuses it */
    } else {
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < r->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return NULL;                /* a real: jansson's strtod decides */
    if (p - digits > TR_JSONFAST_INT_DIGITS)
        return NULL;
    for (const unsigned char *d = digits; d < p; d++)
        v = v * 10 + (*d - '0');
    r->p = p;
    return json_integer(neg ? -v : v);
}

static json_t *read_object(struct reader *r)
{
    json_t *o = json_object();

    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        const char *k;
        char *own = NULL;           /* a decoded key, copied: the value may reuse scratch */
        size_t klen;
        json_t *v;

        if (r->p >= r->end || *r->p != '"' || read_string(r, &k, &klen) < 0)
            goto fail;
        if (k == r->scratch) {
            own = xmalloc(klen + 1);
            memcpy(own, k, klen);
            k = own;
        }
        if (json_object_getn(o, k, klen) != NULL) {
            free(own);              /* a duplicate key: jansson refuses it */
            goto fail;
        }
        skip_ws(r);
        if (r->p >= r->end || *r->p != ':') {
            free(own);
            goto fail;
        }
        r->p++;
        skip_ws(r);
        v = read_value(r);
        if (v == NULL || json_object_setn_new_nocheck(o, k, klen, v) < 0) {
            free(own);
            goto fail;
        }
        free(own);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        goto fail;
    }
fail:
    json_decref(o);
    return NULL;
}

static json_t *read_array(struct reader *r)
{
    json_t *a = json_array();

    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = read_value(r);
        if (v == NULL || json_array_append_new(a, v) < 0)
            break;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_ws(r);
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

static int literal(struct reader *r, const char *word, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return 0;
    r->p += n;
    return 1;
}

static json_t *read_value(struct reader *r)
{
    json_t *v = NULL;

    if (r->p >= r->end || ++r->depth > JSON_PARSER_MAX_DEPTH)
        return NULL;
    switch (*r->p) {
    case '{':
        v = read_object(r);
        break;
    case '[':
        v = read_array(r);
        break;
    case '"': {
        const char *s;
        size_t len;
        if (read_string(r, &s, &len) == 0)
            v = json_stringn_nocheck(s, len);
        break;
    }
    case 't':
        v = literal(r, "true", 4) ? json_true() : NULL;
        break;
    case 'f':
        v = literal(r, "false", 5) ? json_false() : NULL;
        break;
    case 'n':
        v = literal(r, "null", 4) ? json_null() : NULL;
        break;
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            v = read_number(r);
        break;
    }
    r->depth--;
    return v;
}

json_t *tr_json_fast_load(const char *text, size_t len)
{
    struct reader r = { (const unsigned char *)text, (const unsigned char *)text + len, NULL, 0, 0 };
    json_t *v = NULL;

    skip_ws(&r);
    if (r.p < r.end && (*r.p == '{' || *r.p == '[')) {
        v = read_value(&r);
        skip_ws(&r);
        if (v != NULL && r.p != r.end) {
            json_decref(v);         /* something after the value */
            v = NULL;
        }
    }
    free(r.scratch);
    return v;
}
