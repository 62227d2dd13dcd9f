/*
 * escape.c - making untrusted strings safe for a terminal and for CSV, and
 * measuring them for the table layout (declared in output.h).
 *
 * Report strings are valid UTF-8 when ingest stored them, but nothing here
 * relies on it: invalid bytes are shown as \xNN like control characters.
 */
#include "output.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when the bytes are not valid UTF-8. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp_out)
{
    unsigned c = s[0], cp, min;
    size_t need;

    if (c < 0x80) {
        *cp_out = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) { need = 1; min = 0x80; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; min = 0x800; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; min = 0x10000; cp = c & 0x07; }
    else return 0;
    if (n <= need)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *cp_out = cp;
    return need + 1;
}

/* Code points a terminal must not receive raw: C1 controls, and the bidi
 * embedding/override/isolate controls that reorder what is displayed. */
static int dangerous_cp(unsigned cp)
{
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F;
}

char *rpt_term_escape(const char *str, size_t len, int keep_nl)
{
    const unsigned char *s = (const unsigned char *)str;
    struct tr_buf b;
    char esc[16];
    size_t i = 0;

    tr_buf_init(&b, RPT_ESCAPED_MAX);
    while (i < len) {
        unsigned cp;
        size_t n = utf8_seq(s + i, len - i, &cp);
        int ok;

        if (n == 0) {
            snprintf(esc, sizeof esc, "\\x%02x", s[i]);
            ok = tr_buf_append(&b, esc, strlen(esc));
            i++;
        } else if (cp < 0x20 || cp == 0x7F) {
            if (keep_nl && (cp == '\n' || cp == '\t'))
                ok = tr_buf_append(&b, s + i, 1);
            else {
                snprintf(esc, sizeof esc, "\\x%02x", cp);
                ok = tr_buf_append(&b, esc, strlen(esc));
            }
            i++;
        } else if (dangerous_cp(cp)) {
            snprintf(esc, sizeof esc, "\\u%04x", cp);
            ok = tr_buf_append(&b, esc, strlen(esc));
            i += n;
        } else {
            ok = tr_buf_append(&b, s + i, n);
            i += n;
        }
        if (ok < 0) {
            /* Over the cap: keep what fits and mark the cut. */
            b.len = b.len > 3 ? b.len - 3 : 0;
            tr_buf_append(&b, "...", 3);
            break;
        }
    }
    {
        size_t len_out;
        char *res = (char *)tr_buf_steal(&b, &len_out);
        return xrealloc(res, len_out + 1);     /* the buffer grew in 4 KiB steps */
    }
}

size_t rpt_display_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* The byte offset at which s reaches w display columns. */
size_t rpt_width_offset(const char *s, size_t w)
{
    size_t i = 0, cols = 0;
    while (s[i]) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (cols == w)
                break;
            cols++;
        }
        i++;
    }
    return i;
}

char *rpt_csv_field(const char *s)
{
    struct tr_buf b;
    int inert = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    int quote = inert || strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' ||
                (s[0] && s[strlen(s) - 1] == ' ');

    tr_buf_init(&b, RPT_ESCAPED_MAX);
    if (quote)
        tr_buf_append(&b, "\"", 1);
    if (inert)
        tr_buf_append(&b, "'", 1);
    for (; *s; s++) {
        if (*s == '"' && tr_buf_append(&b, "\"", 1) < 0)
            break;
        if (tr_buf_append(&b, s, 1) < 0)
            break;
    }
    if (quote)
        tr_buf_append(&b, "\"", 1);
    {
        size_t len_out;
        char *res = (char *)tr_buf_steal(&b, &len_out);
        return xrealloc(res, len_out + 1);
    }
}

