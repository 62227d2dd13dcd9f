/*
 * escape.c - making untrusted strings safe for a terminal and for CSV, and
 * measuring them for the table layout (declared in output.h).
 *
 * The terminal escaping itself is the library's tr_term_escape (util.h),
 * shared with tlsrpt-ingest -v.
 */
#include "output.h"

#include <stdio.h>
#include <string.h>

char *rpt_term_escape(const char *str, size_t len, int keep_nl)
{
    return tr_term_escape(str, len, keep_nl, RPT_ESCAPED_MAX);
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

