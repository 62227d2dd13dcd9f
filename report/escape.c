/*
 * escape.c - making untrusted strings safe for a terminal, CSV, Prometheus
 * labels and HTML, and measuring them for the table layout (declared in
 * output.h).
 *
 * The terminal escaping itself is the library's tr_term_escape (util.h),
 * shared with tlsrpt-ingest -v.
 */
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rpt_term_escape(const char *str, size_t len, int keep_nl)
{
    return tr_term_escape(str, len, keep_nl, RPT_ESCAPED_MAX);
}

char *rpt_name_escape(const char *s)
{
    return rpt_term_escape(s ? s : "", s ? strlen(s) : 0, 0);
}

char *rpt_lines_escape(const char *s)
{
    struct tr_buf b;
    size_t len;

    tr_buf_init(&b, RPT_ESCAPED_MAX);
    for (const char *l = s ? s : "", *nl; ; l = nl + 1) {
        char *e;
        nl = strchr(l, '\n');
        e = rpt_term_escape(l, nl ? (size_t)(nl - l) : strlen(l), 0);
        /* Over the cap: what fit is kept (each line ends in "..." when cut). */
        if (tr_buf_append(&b, e, strlen(e)) < 0 || (nl && tr_buf_append(&b, "\n", 1) < 0))
            nl = NULL;
        free(e);
        if (nl == NULL)
            break;
    }
    return (char *)tr_buf_steal(&b, &len);
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
    /* Capped so the escaped form (each '"' doubled) fits RPT_ESCAPED_MAX. */
    size_t len = strnlen(s, RPT_ESCAPED_MAX / 2 - 2), quotes = 0;
    int inert = len > 0 && strchr("=+-@\t\r", s[0]) != NULL;
    int quote = inert || strpbrk(s, ",\"\r\n") != NULL || (len > 0 && (s[0] == ' ' || s[len - 1] == ' '));
    char *out, *p;

    if (!quote)            /* no '"' either: the field is the string */
        return xstrndup(s, len);
    for (size_t i = 0; i < len; i++)
        quotes += s[i] == '"';
    p = out = xmalloc(len + quotes + 4);
    *p++ = '"';
    if (inert)
        *p++ = '\'';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    *p = '\0';
    return out;
}


char *rpt_prom_label(const char *s)
{
    /* Invalid UTF-8 and control characters first become visible escapes
     * (the exposition format is UTF-8); then \, " and newline are escaped
     * as the format requires. */
    char *clean = tr_term_escape(s, strnlen(s, RPT_ESCAPED_MAX / 2 - 2), 1, RPT_ESCAPED_MAX / 2 - 2);
    size_t len = strlen(clean), extra = 0;
    char *out, *p;

    for (size_t i = 0; i < len; i++)
        extra += clean[i] == '\\' || clean[i] == '"' || clean[i] == '\n';
    p = out = xmalloc(len + extra + 1);
    for (size_t i = 0; i < len; i++) {
        if (clean[i] == '\\' || clean[i] == '"' || clean[i] == '\n')
            *p++ = '\\';
        *p++ = clean[i] == '\n' ? 'n' : clean[i];
    }
    *p = '\0';
    free(clean);
    return out;
}

int rpt_html_esc_bytes(struct tr_buf *b, const char *s, size_t n)
{
    int rc = 0;

    for (const char *p = s, *run = s; rc == 0; p++) {
        const char *ent = p == s + n ? NULL : *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
                        : *p == '"' ? "&quot;" : *p == '\'' ? "&#39;" : NULL;
        if (ent == NULL && p < s + n)
            continue;
        rc = tr_buf_append(b, run, (size_t)(p - run));
        if (rc == 0 && ent != NULL)
            rc = tr_buf_append(b, ent, strlen(ent));
        if (p == s + n)
            break;
        run = p + 1;
    }
    return rc;
}

int rpt_html_append(struct tr_buf *b, const char *s, int keep_lines)
{
    char *safe = keep_lines ? rpt_lines_escape(s) : rpt_name_escape(s);
    int rc = rpt_html_esc_bytes(b, safe, strlen(safe));

    free(safe);
    return rc;
}
