/*
 * imapparse.c - the parsing of an IMAP server's answers (imapparse.h):
 * lines of a custom command's answer, the STATUS line, the listing's
 * FETCH lines, the tagged answer kept for error messages.  Everything here
 * reads bytes the server chose; nothing here talks to libcurl.
 */
#include "imapparse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t imap_lines_feed(struct imap_lines *l, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            if (l->max_lines && ++l->lines > l->max_lines) {
                l->over_cap = 1;
                return 0;
            }
            while (l->len > 0 && l->buf[l->len - 1] == '\r')
                l->len--;
            l->buf[l->len] = '\0';
            if (!l->cur_drop)
                l->line(l->ctx, l->buf);
            l->len = 0;
            l->cur_drop = 0;
        } else if (p[i] == '\0') {
            l->cur_drop = 1;        /* not IMAP text (RFC 3501 CHAR8): the parsers would see half a line */
        } else if (l->len + 1 < sizeof l->buf) {
            l->buf[l->len++] = p[i];
        } else {
            l->too_long = 1;
            l->cur_drop = 1;
        }
    }
    return n;
}

/* The value after "NAME " in s, or 0 (ULLONG_MAX when too large). */
static unsigned long long number_after(const char *s, const char *name)
{
    const char *p = s;
    size_t n = strlen(name);
    while ((p = strstr(p, name)) != NULL) {
        if ((p == s || p[-1] == ' ' || p[-1] == '(') && p[n] == ' ' && isdigit((unsigned char)p[n + 1]))
            return strtoull(p + n + 1, NULL, 10);
        p += n;
    }
    return 0;
}

void imap_status_line(void *ctx, const char *s)
{
    struct imap_status_answer *st = ctx;
    const char *paren;
    if (strncmp(s, "* STATUS ", 9) != 0 || (paren = strrchr(s, '(')) == NULL)
        return;
    st->uidvalidity = number_after(paren, "UIDVALIDITY");
    st->uidnext = number_after(paren, "UIDNEXT");
    st->seen = 1;
}

/* 1 when the FLAGS list in s holds \Seen. */
static int has_seen(const char *s)
{
    const char *f = strstr(s, "FLAGS (");
    const char *end;
    if (f == NULL || (end = strchr(f, ')')) == NULL)
        return 0;
    for (const char *p = f + 7; p + 5 <= end; p++)
        if (strncasecmp(p, "\\Seen", 5) == 0 && (p[5] == ' ' || p[5] == ')'))
            return 1;
    return 0;
}

void imap_listing_line(void *ctx, const char *s)
{
    struct imap_listing *ls = ctx;
    const char *items;
    unsigned long long uid, size;

    if (strncmp(s, "* ", 2) != 0 || (items = strstr(s, " FETCH (")) == NULL)
        return;
    items += 7;
    uid = number_after(items, "UID");
    size = number_after(items, "RFC822.SIZE");
    if (uid < ls->lo || uid > ls->hi || strstr(items, "RFC822.SIZE ") == NULL)
        return;                       /* an unsolicited FLAGS update, or not asked for */
    ls->hits++;
    if (ls->n >= ls->max) {
        ls->truncated = 1;
        return;
    }
    if (ls->n == ls->alloc) {
        ls->alloc = ls->alloc ? ls->alloc * 2 : 256;
        ls->v = xrealloc(ls->v, ls->alloc * sizeof *ls->v);
    }
    ls->v[ls->n].uid = (uint32_t)uid;
    ls->v[ls->n].size = size;
    ls->v[ls->n].seen = has_seen(items);
    ls->n++;
}

/* 1 when the kept line's status word is OK. */
static int kept_ok(const char *tagged)
{
    const char *sp = strchr(tagged, ' ');
    return sp != NULL && strncasecmp(sp + 1, "OK", 2) == 0 && (sp[3] == ' ' || sp[3] == '\0');
}

void imap_keep_tagged(char *tagged, size_t cap, const char *data, size_t size)
{
    const char *sp;
    /* Tagged: "TAG OK|NO|BAD ...", not "* ..." nor the ")" after a literal. */
    if (size < 2 || !isalnum((unsigned char)data[0]) || (sp = memchr(data, ' ', size)) == NULL
        || (size_t)(sp - data) + 4 > size
        || (strncasecmp(sp + 1, "OK", 2) != 0 && strncasecmp(sp + 1, "NO", 2) != 0
            && strncasecmp(sp + 1, "BAD", 3) != 0))
        return;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    /* A NO or BAD is kept over the OK of the LOGOUT that follows it. */
    if (tagged[0] == '\0' || kept_ok(tagged))
        tr_printable(data, size, tagged, cap);
}
