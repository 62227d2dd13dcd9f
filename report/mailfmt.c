/*
 * mailfmt.c - quoted-printable, encoded words, folding, address lists and
 * dates, written by hand for the one message tlsrpt-report sends (as
 * Postfix and OpenSMTPD write their own messages): GMime, which
 * tlsrpt-ingest uses to parse mail, would cost every tlsrpt-report run
 * the loading of it and of what it pulls in (BENCHMARKS.md).
 */
#include "mailfmt.h"
#include "tlsrpt/codes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The frame of an encoded word around its base64 text. */
#define EWORD_PRE "=?utf-8?B?"
#define EWORD_POST "?="
#define EWORD_FRAME (sizeof EWORD_PRE - 1 + sizeof EWORD_POST - 1)

void rpt_mail_init(struct rpt_mail *m, size_t cap)
{
    tr_buf_init(&m->b, cap);
    m->full = 0;
}

void rpt_mail_add(struct rpt_mail *m, const void *p, size_t n)
{
    if (!m->full && tr_buf_append(&m->b, p, n) < 0)
        m->full = 1;
}

void rpt_mail_put(struct rpt_mail *m, const char *s)
{
    rpt_mail_add(m, s, strlen(s));
}

/* ---------------------------------------------------------------- bodies */

void rpt_mail_qp(struct rpt_mail *m, const char *text, size_t len)
{
    size_t col = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        int line_end = i + 1 == len || text[i + 1] == '\n';   /* the line ends after c */
        int lit;

        if (c == '\n') {
            rpt_mail_put(m, "\n");
            col = 0;
            continue;
        }
        lit = (c >= 0x21 && c <= 0x7e && c != '=') || ((c == ' ' || c == '\t') && !line_end);
        /* A soft break ("=" before the LF) takes a column: c may use the
         * last one only when the line ends after it. */
        if (col + (lit ? 1u : 3u) > RPT_QP_COLS - (line_end ? 0u : 1u)) {
            rpt_mail_put(m, "=\n");
            col = 0;
        }
        /* An mbox reader would mangle a line starting "From ". */
        if (col == 0 && len - i >= 5 && memcmp(text + i, "From ", 5) == 0)
            lit = 0;
        if (lit) {
            rpt_mail_add(m, text + i, 1);
            col++;
        } else {
            char esc[4];
            snprintf(esc, sizeof esc, "=%02X", c);
            rpt_mail_add(m, esc, 3);
            col += 3;
        }
    }
}

/* ---------------------------------------------------------------- headers */

static void put_base64(struct rpt_mail *m, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        rpt_mail_add(m, q, 4);
    }
}

/* Printable ASCII that a reader gives back as it is: no control, no "=?"
 * (it would be taken for an encoded word), no space at either end (it
 * would be dropped). */
static int plain_ascii(const char *s)
{
    if (s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' '))
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < 0x20 || *p > 0x7e || (p[0] == '=' && p[1] == '?'))
            return 0;
    return 1;
}

/* 1 when put_folded can keep s within RPT_HEADER_COLS from column col:
 * its first word fits on this line, every other one after a fold. */
static int fits_folded(const char *s, size_t col)
{
    size_t word = 0, room = col < RPT_HEADER_COLS ? RPT_HEADER_COLS - col : 0;

    for (const char *p = s; *p; p++) {
        if (*p == ' ') {
            word = 0;
            room = RPT_HEADER_COLS - 1;
        } else if (++word > room) {
            return 0;
        }
    }
    return 1;
}

/* s[0..n) (one line's worth of text, no LF) starting at column *col, with
 * a fold (LF, the space stays) before a word that would pass
 * RPT_HEADER_COLS; never one that leaves a line of white space only. */
static void put_folded(struct rpt_mail *m, const char *s, size_t n, size_t *col)
{
    size_t i = 0;

    while (i < n) {
        size_t w = 1;                           /* s[i] and up to the next space */
        while (i + w < n && s[i + w] != ' ')
            w++;
        if (s[i] == ' ' && *col > 1 && *col + w > RPT_HEADER_COLS) {
            rpt_mail_put(m, "\n");
            *col = 0;
        }
        rpt_mail_add(m, s + i, w);
        *col += w;
        i += w;
    }
}

/* s as "B" encoded words, the first at column *col.  Each holds whole
 * UTF-8 characters (a byte that is not part of one counts as one), is at
 * most RPT_EWORD_MAX long and ends by column RPT_EWORD_LINE; words are
 * separated by a fold, which readers drop between encoded words. */
static void put_encoded_words(struct rpt_mail *m, const char *s, size_t *col)
{
    size_t len = strlen(s), i = 0;

    while (i < len) {
        size_t room = *col < RPT_EWORD_LINE ? RPT_EWORD_LINE - *col : 0, max, n;

        if (room > RPT_EWORD_MAX)
            room = RPT_EWORD_MAX;
        if (room < EWORD_FRAME + 8) {           /* not even a 4-byte character */
            rpt_mail_put(m, "\n ");
            *col = 1;
            continue;
        }
        max = (room - EWORD_FRAME) / 4 * 3;     /* >= 6 */
        n = len - i < max ? len - i : max;
        /* Do not end inside a character: back up over its continuation
         * bytes (3 at most, so n stays >= 3). */
        for (int k = 0; k < 3 && i + n < len && ((unsigned char)s[i + n] & 0xC0) == 0x80; k++)
            n--;
        rpt_mail_put(m, EWORD_PRE);
        put_base64(m, (const unsigned char *)s + i, n);
        rpt_mail_put(m, EWORD_POST);
        *col += EWORD_FRAME + (n + 2) / 3 * 4;
        i += n;
        if (i < len) {
            rpt_mail_put(m, "\n ");
            *col = 1;
        }
    }
}

void rpt_mail_text_header(struct rpt_mail *m, const char *name, const char *value)
{
    size_t col = strlen(name) + 2;

    rpt_mail_put(m, name);
    rpt_mail_put(m, ": ");
    if (plain_ascii(value) && fits_folded(value, col))
        put_folded(m, value, strlen(value), &col);
    else
        put_encoded_words(m, value, &col);
    rpt_mail_put(m, "\n");
}

/* RFC 5322 3.3, English names whatever the locale. */
void rpt_mail_date_header(struct rpt_mail *m, int64_t t)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    char s[64];

    if (gmtime_r(&tt, &tm) == NULL)
        memset(&tm, 0, sizeof tm);
    snprintf(s, sizeof s, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\n", wd[tm.tm_wday % 7], tm.tm_mday,
             mo[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    rpt_mail_put(m, s);
}

/* ---------------------------------------------------------------- addresses */

#define ATEXT "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
#define LDH "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
/* Specials (RFC 5322 3.2.3) a display name may not hold outside quotes;
 * '.' is allowed there (obs-phrase, "J. Smith") but makes us quote. */
#define NAME_SPECIALS "()<>[]:;@\\,\""

/* s[0..n) as dot-separated runs of chars, none empty; with hyphen_edges 0
 * no run may start or end with '-' (a domain label). */
static int dot_runs(const char *s, size_t n, const char *chars, int hyphen_edges)
{
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (i == start || (!hyphen_edges && (s[start] == '-' || s[i - 1] == '-')))
                return 0;
            start = i + 1;
        } else if (s[i] == '\0' || strchr(chars, s[i]) == NULL) {
            return 0;
        }
    }
    return 1;
}

/* local-part[@domain], the domain a host name or [address literal]. */
static int valid_addr_spec(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    size_t local = at ? (size_t)(at - s) : n, dom = at ? n - local - 1 : 0;

    if (n > RPT_ADDR_SPEC_MAX || !dot_runs(s, local, ATEXT, 1))
        return 0;
    if (at == NULL)
        return 1;
    at++;
    if (dom >= 2 && at[0] == '[' && at[dom - 1] == ']') {
        for (size_t i = 1; i + 1 < dom; i++)
            if (at[i] <= 0x20 || at[i] > 0x7e || at[i] == '[' || at[i] == ']' || at[i] == '\\')
                return 0;
        return 1;
    }
    return dot_runs(at, dom, LDH, 0);
}

/* A control character in s[0..n): C0, DEL, or C1 (U+0080-U+009F). */
static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f))
            return 1;
    }
    return 0;
}

/* The display name in [s, e): words and quoted strings, white space
 * between them made one space, quotes and escapes removed, into *name
 * (caller-owned, "" when there is none).  Returns 0, or -1 when it holds
 * a special outside quotes, an unclosed quote or invalid UTF-8. */
static int display_name(const char *s, const char *e, char **name)
{
    char *out = xmalloc((size_t)(e - s) + 1), *o = out;
    int quoted = 0, space = 0;

    for (; s < e; s++) {
        char c = *s;
        if (quoted) {
            if (c == '"') {
                quoted = 0;
                continue;
            }
            if (c == '\\' && ++s == e)
                goto bad;
            *o++ = *s;
        } else if (c == ' ' || c == '\t') {
            space = o > out;
        } else if (c != '"' && strchr(NAME_SPECIALS, c)) {
            goto bad;
        } else {                                /* a word, or a quoted string starts */
            if (space)
                *o++ = ' ';
            space = 0;
            if (c == '"')
                quoted = 1;
            else
                *o++ = c;
        }
    }
    *o = '\0';
    if (quoted || !tr_utf8_valid(out, (size_t)(o - out)))
        goto bad;
    *name = out;
    return 0;
bad:
    free(out);
    return -1;
}

/* A display name as a phrase: atoms when it is words of atext separated
 * by single spaces, else a quoted string (folded at its spaces: RFC 5322
 * 3.2.4 allows it); encoded words when it is not plain ASCII or has a
 * word too long to fold. */
static void put_phrase(struct rpt_mail *m, const char *name, size_t *col)
{
    size_t len = strlen(name);
    char *q = xmalloc(2 * len + 3), *o = q;

    if (name[strcspn(name, NAME_SPECIALS ".")] == '\0' && strstr(name, "  ") == NULL) {
        memcpy(q, name, len + 1);
    } else {
        *o++ = '"';
        for (const char *p = name; *p; p++) {
            if (*p == '"' || *p == '\\')
                *o++ = '\\';
            *o++ = *p;
        }
        *o++ = '"';
        *o = '\0';
    }
    if (plain_ascii(name) && fits_folded(q, *col))
        put_folded(m, q, strlen(q), col);
    else
        put_encoded_words(m, name, col);
    free(q);
}

/* The end of the list element at s: the next comma outside quotes and
 * angle brackets, or the NUL. */
static const char *element_end(const char *s)
{
    int quoted = 0, angle = 0;

    for (; *s; s++) {
        if (quoted && *s == '\\' && s[1])
            s++;
        else if (*s == '"')
            quoted = !quoted;
        else if (!quoted && *s == '<')
            angle++;
        else if (!quoted && *s == '>')
            angle--;
        else if (!quoted && !angle && *s == ',')
            break;
    }
    return s;
}

/* One element of the list, white space trimmed: [a, z). */
struct element {
    const char *spec;     /* the addr-spec, borrowed */
    size_t spec_len;
    char *name;           /* owned; NULL without angle brackets */
};

static int parse_element(const char *a, const char *z, struct element *el)
{
    const char *lt = NULL, *gt;

    el->name = NULL;
    for (const char *p = z; p > a; p--)         /* the last '<': a quoted name may hold one */
        if (p[-1] == '<') {
            lt = p - 1;
            break;
        }
    if (lt == NULL) {
        el->spec = a;
        el->spec_len = (size_t)(z - a);
        return valid_addr_spec(a, el->spec_len) ? 0 : -1;
    }
    gt = memchr(lt, '>', (size_t)(z - lt));
    if (gt == NULL || gt + 1 != z)
        return -1;
    el->spec = lt + 1;
    el->spec_len = (size_t)(gt - lt - 1);
    if (!valid_addr_spec(el->spec, el->spec_len))
        return -1;
    return display_name(a, lt, &el->name);
}

int rpt_mail_address_header(struct rpt_mail *m, const char *name, const char *opt, const char *value,
                            struct tr_err *err)
{
    size_t col = strlen(name) + 2, n_addr = 0;
    const char *p = value;

    if (strlen(value) > RPT_ADDR_MAX) {
        tr_err_set(err, TR_E_USAGE, "--%s: longer than %d bytes", opt, RPT_ADDR_MAX);
        return -1;
    }
    rpt_mail_put(m, name);
    rpt_mail_put(m, ": ");
    for (;;) {
        const char *end = element_end(p), *a = p, *z = end;
        struct element el;

        while (a < z && (*a == ' ' || *a == '\t'))
            a++;
        while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
            z--;
        if (a == z || has_control(a, (size_t)(z - a)) || parse_element(a, z, &el) < 0) {
            if (a == z) {
                tr_err_set(err, TR_E_USAGE, "--%s: an empty address in the list", opt);
            } else if (has_control(a, (size_t)(z - a))) {
                tr_err_set(err, TR_E_USAGE, "--%s: an address holds a control character", opt);
            } else {
                char *shown = tr_term_escape(a, (size_t)(z - a), 0, 200);
                tr_err_set(err, TR_E_USAGE, "--%s: not an address: '%s' (use name@domain or Name <name@domain>)",
                           opt, shown);
                free(shown);
            }
            return -1;
        }
        if (n_addr++ > 0) {
            rpt_mail_put(m, ",\n ");
            col = 1;
        }
        if (el.name && el.name[0]) {            /* Name <addr>, else the bare addr-spec */
            put_phrase(m, el.name, &col);
            if (col + 3 + el.spec_len > RPT_HEADER_COLS) {
                rpt_mail_put(m, "\n");
                col = 0;
            }
            rpt_mail_put(m, " <");
            rpt_mail_add(m, el.spec, el.spec_len);
            rpt_mail_put(m, ">");
            col += 3 + el.spec_len;
        } else {
            rpt_mail_add(m, el.spec, el.spec_len);
            col += el.spec_len;
        }
        free(el.name);
        if (*end == '\0')
            break;
        p = end + 1;
    }
    rpt_mail_put(m, "\n");
    return 0;
}
