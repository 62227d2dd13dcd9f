/*
 * mime.c - find the report parts of a mail message with GMime 3.
 *
 * tr_message_parse() hands the caller's bytes to GMime without copying
 * them (a GByteArray that borrows the bytes, wrapped in a GMimeStreamMem
 * that does not own it; parts stay substreams of it), walks the MIME tree
 * depth first, and copies out the few things the rest of the program needs:
 * a handful of top-level headers and every candidate report part,
 * transfer-decoded into malloc'd memory.  When it returns, nothing of GMime
 * is left alive and the caller's bytes are no longer referenced.
 *
 * Bounds: GMime builds an object for every part, header field, parameter
 * and address, at 25 to 120 times the bytes they take in the message, so
 * before GMime sees a message a linear pre-scan (prescan()) estimates what
 * it would build and refuses, with TR_E_LIMIT_MIME_PARTS, a message that
 * would build more than mime-parts allows:
 *  - MIME objects: only a line starting with "--" can open a multipart's
 *    child and only a Content-Type line can make a multipart or a message
 *    container, so 1 + those lines bounds the objects; at most
 *    2 * mime-parts + 16;
 *  - header fields ("Name:" lines), and the words (after white space) and
 *    ';' and ',' separators in them and their continuation lines (GMime
 *    makes a token, a parameter or an address of each): at most
 *    TR_MIME_HEADERS_PER_PART * mime-parts + 1000 of each.
 * A hostile message of a million tiny parts or headers thus costs one scan,
 * not gigabytes of GObjects.  The walk then counts the real parts (every
 * MIME object, the root included) against mime-parts and stops nesting at
 * TR_MIME_MAX_DEPTH.  Decoded part data is read through a capped struct
 * tr_buf (message-size); header values are cut at TR_MIME_HEADER_MAX bytes,
 * file names at TR_MIME_FILENAME_MAX.
 *
 * GMime reports parse problems through the parser options' warning
 * callback; ours ignores them, so nothing here prints.  GMime copes with
 * the real-world damage (missing closing boundary, folded boundary
 * parameter, CRLF or LF) on its own.
 */
#include "tlsrpt/mime.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/gunzip.h"
#include "tlsrpt/util.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TR_MIME_MAX_DEPTH 64            /* nesting of multiparts / message parts */
#define TR_MIME_HEADER_MAX 65536        /* bytes kept of one header value */
#define TR_MIME_FILENAME_MAX 255        /* bytes kept of a part's file name */
#define TR_MIME_FIELD_NAME_MAX 128      /* longest header name tr_looks_like_message accepts */
#define TR_MIME_HEADERS_PER_PART 100    /* header fields (and separators) budgeted per allowed part */
#define DECODE_CHUNK 65536

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

/* pthread_once() body of tr_mime_init(). */
static void mime_init_once(void)
{
    g_mime_init();
}

/* See mime.h.  Also called by tr_message_parse, so forgetting it is safe. */
void tr_mime_init(void)
{
    pthread_once(&mime_once, mime_init_once);
}

/* See mime.h.  Yes for an mbox From_ line or a first line "Name:" (name of
 * printable ASCII, at most TR_MIME_FIELD_NAME_MAX bytes, optional blanks
 * before the colon); no for JSON ('{', '['), gzip, zip or a blank line. */
int tr_looks_like_message(const unsigned char *p, size_t len)
{
    size_t i;

    if (len >= 5 && memcmp(p, "From ", 5) == 0)
        return 1;                           /* mbox From_ line */
    if (len == 0 || p[0] == '{' || p[0] == '[')
        return 0;                           /* JSON */
    for (i = 0; i < len && i <= TR_MIME_FIELD_NAME_MAX; i++) {
        if (p[i] == ':' || p[i] == ' ' || p[i] == '\t')
            break;
        if (p[i] < 33 || p[i] > 126)
            return 0;                       /* gzip magic, binary, blank line */
    }
    if (i == 0 || i > TR_MIME_FIELD_NAME_MAX)
        return 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;                                /* obsolete "Name :" syntax */
    return i < len && p[i] == ':';
}

/* Parser warnings are expected on damaged mail; the library never prints. */
static void ignore_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
    (void)offset, (void)code, (void)item, (void)data;
}

/* a * b + c, or SIZE_MAX when that overflows (b > 0). */
static size_t sat_mul_add(size_t a, size_t b, size_t c)
{
    return a > (SIZE_MAX - c) / b ? SIZE_MAX : a * b + c;
}

/* 1 when the line [q, end) starts with a header field name and a colon. */
static int header_line(const unsigned char *q, const unsigned char *end)
{
    const unsigned char *s = q;

    while (q < end && *q > 32 && *q < 127 && *q != ':')
        q++;
    if (q == s)
        return 0;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    return q < end && *q == ':';
}

/*
 * The pre-scan described at the top of the file: one pass over the lines
 * of p.  Returns 0, or -1 with err set as soon as one estimate passes its
 * bound.
 */
static int prescan(const unsigned char *p, size_t len, size_t mime_parts, struct tr_err *err)
{
    const unsigned char *end = p + len, *q = p;
    size_t max_objects = sat_mul_add(mime_parts, 2, 16);
    size_t max_headers = sat_mul_add(mime_parts, TR_MIME_HEADERS_PER_PART, 1000);
    size_t objects = 1, fields = 0, seps = 0;   /* seps: words and separators */
    int in_header = 0;          /* the previous line was a header line */

    while (q < end) {
        const unsigned char *nl = memchr(q, '\n', (size_t)(end - q));
        const unsigned char *eol = nl ? nl : end;
        int count_seps = 0;

        if (eol - q >= 2 && q[0] == '-' && q[1] == '-') {
            objects++;
            in_header = 0;
        } else if (in_header && (q[0] == ' ' || q[0] == '\t')) {
            count_seps = 1;     /* a continuation line */
        } else if (header_line(q, eol)) {
            fields++;
            if (eol - q >= 13 && strncasecmp((const char *)q, "content-type", 12) == 0 &&
                (q[12] == ':' || q[12] == ' ' || q[12] == '\t'))
                objects++;
            in_header = count_seps = 1;
        } else {
            in_header = 0;
        }
        for (const unsigned char *c = q + 1; count_seps && c < eol; c++)
            seps += *c == ';' || *c == ',' || (*c > ' ' && (c[-1] == ' ' || c[-1] == '\t'));
        if (objects > max_objects || fields > max_headers || seps > max_headers) {
            tr_err_set(err, TR_E_LIMIT_MIME_PARTS,
                       "message has more %s than the mime-parts limit of %zu allows",
                       objects > max_objects ? "MIME parts" : fields > max_headers ? "header fields"
                                                                                  : "header words",
                       mime_parts);
            return -1;
        }
        q = nl ? nl + 1 : end;
    }
    return 0;
}

/* The length of s[0..n) without a UTF-8 sequence cut short at its end. */
static size_t utf8_whole(const char *s, size_t n)
{
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        size_t need;
        if ((c & 0xC0) == 0x80)
            continue;                       /* a continuation byte: look further back */
        need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return back < need ? n - back : n;
    }
    return n;
}

/*
 * Returns a malloc'd copy of s for display and matching: leading and
 * trailing white space removed, CR/LF dropped (unfolding), other control
 * characters turned into spaces, at most TR_MIME_HEADER_MAX bytes; with
 * CLEAN_LOWER in ASCII lower case, with CLEAN_COLLAPSE runs of spaces made
 * one.  NULL when s is NULL or nothing is left.
 */
#define CLEAN_LOWER 1
#define CLEAN_COLLAPSE 2
static char *clean_value(const char *s, int flags)
{
    size_t n = 0, cap;
    char *out;

    if (s == NULL)
        return NULL;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    cap = strnlen(s, TR_MIME_HEADER_MAX);
    out = xmalloc(cap + 1);
    for (size_t i = 0; i < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c < 0x20 || c == 0x7f)
            c = ' ';
        if (c == ' ' && (flags & CLEAN_COLLAPSE) && n > 0 && out[n - 1] == ' ')
            continue;
        out[n++] = (char)((flags & CLEAN_LOWER) && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    if (cap == TR_MIME_HEADER_MAX)
        n = utf8_whole(out, n);
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    if (n == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/*
 * Sanitizes a sender-supplied file name for display: keeps the part after
 * the last '/' or '\\', drops control characters, replaces every non-ASCII
 * byte with '?' unless the name is valid UTF-8, and cuts at
 * TR_MIME_FILENAME_MAX bytes.  Returns malloc'd text, or NULL when nothing
 * usable ("", ".", "..") is left.  The result is never used as a path.
 */
static char *clean_filename(const char *s)
{
    const char *base = s;
    size_t n = 0;
    char *out;

    if (s == NULL)
        return NULL;
    for (const char *q = s; *q; q++)
        if (*q == '/' || *q == '\\')
            base = q + 1;
    out = xmalloc(strlen(base) + 1);
    for (const char *q = base; *q && n < TR_MIME_FILENAME_MAX; q++) {
        unsigned char c = (unsigned char)*q;
        if (c >= 0x20 && c != 0x7f)
            out[n++] = (char)c;
    }
    n = utf8_whole(out, n);
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    if (!tr_utf8_valid(out, n))
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)out[i] >= 0x80)
                out[i] = '?';
    if (n == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* 1 when s ends with suffix, ignoring ASCII case. */
static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* 1 when a file name says "report file": .json, .json.gz, .gz, .zip. */
static int report_filename(const char *name)
{
    return name != NULL && (has_suffix(name, ".json") || has_suffix(name, ".gz") ||
                            has_suffix(name, ".zip"));
}

/* 1 when type is one of the NULL-terminated list. */
static int type_in(const char *type, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(type, list[i]) == 0)
            return 1;
    return 0;
}

static const char *const strict_types[] = {
    "application/tlsrpt+gzip", "application/tlsrpt+json", "application/tlsrpt", NULL,
};
static const char *const lenient_types[] = {
    "application/gzip", "application/x-gzip", "application/octet-stream", "application/json",
    "application/zip", "application/x-zip-compressed", "text/json", NULL,
};

/* 1 when decoded bytes could be a report: gzip, zip, or JSON text whose
 * first non-blank character (after an optional UTF-8 BOM) is '{'. */
static int sniff_report(const unsigned char *p, size_t len)
{
    size_t i = 0;

    if (tr_is_gzip(p, len) || tr_is_zip(p, len))
        return 1;
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        i = 3;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return i < len && p[i] == '{';
}

/* Reads the transfer-decoded content of part into b (capped).  A part
 * without content yields no bytes.  Returns 0, or -1 with err set. */
static int decode_part(GMimePart *part, struct tr_buf *b, struct tr_err *err)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    GMimeStream *src, *fs;
    GMimeContentEncoding enc;
    char chunk[DECODE_CHUNK];
    int ret = 0;

    if (w == NULL || (src = g_mime_data_wrapper_get_stream(w)) == NULL)
        return 0;
    enc = g_mime_data_wrapper_get_encoding(w);
    fs = g_mime_stream_filter_new(src);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *f = g_mime_filter_basic_new(enc, FALSE);
        g_mime_stream_filter_add((GMimeStreamFilter *)fs, f);
        g_object_unref(f);
    }
    g_mime_stream_reset(fs);
    for (;;) {
        ssize_t n = g_mime_stream_read(fs, chunk, sizeof chunk);
        if (n < 0) {
            tr_err_set(err, TR_E_IO, "cannot read a MIME part's content");
            ret = -1;
            break;
        }
        if (n == 0)
            break;      /* the filter flushes its tail before reporting end */
        if (tr_buf_append(b, chunk, (size_t)n) < 0) {
            tr_err_set(err, TR_E_LIMIT_MESSAGE_SIZE,
                       "decoded MIME part exceeds the message-size limit of %zu bytes", b->cap);
            ret = -1;
            break;
        }
    }
    g_object_unref(fs);
    return ret;
}

struct walk {
    const struct tr_limits *lim;
    struct tr_message *msg;
    size_t n_objects;        /* MIME objects seen, root included */
    size_t alloc_parts;
    struct tr_err *err;
};

/* Looks at one leaf part; appends it to w->msg->parts when it is a
 * candidate report part.  Returns 0, or -1 with w->err set. */
static int consider_part(struct walk *w, GMimePart *part)
{
    GMimeContentType *ct = g_mime_object_get_content_type((GMimeObject *)part);
    gchar *gtype = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    char *type = clean_value(gtype ? gtype : "application/octet-stream", CLEAN_LOWER);
    const char *fname = g_mime_part_get_filename(part);
    const char *desc = g_mime_part_get_content_description(part);
    struct tr_buf b;
    int strict, lenient;

    g_free(gtype);
    if (type == NULL)
        type = xstrdup("application/octet-stream");
    if (!report_filename(fname) && report_filename(desc))
        fname = desc;                       /* Microsoft: the name is only here */
    strict = type_in(type, strict_types);
    lenient = type_in(type, lenient_types) || report_filename(fname);
    if (!strict && !lenient) {
        free(type);
        return 0;
    }
    tr_buf_init(&b, w->lim->message_size);
    if (decode_part(part, &b, w->err) < 0) {
        tr_buf_free(&b);
        free(type);
        return -1;
    }
    if (!strict && !sniff_report(b.data, b.len)) {
        tr_buf_free(&b);
        free(type);
        return 0;
    }
    if (w->msg->n_parts == w->alloc_parts) {
        w->alloc_parts = w->alloc_parts ? 2 * w->alloc_parts : 4;
        w->msg->parts = xrealloc(w->msg->parts, w->alloc_parts * sizeof *w->msg->parts);
    }
    struct tr_part *p = &w->msg->parts[w->msg->n_parts++];
    p->content_type = type;
    p->filename = clean_filename(fname);
    p->data = tr_buf_steal(&b, &p->len);
    return 0;
}

/* Depth-first walk over obj: counts objects, recurses into multiparts and
 * attached messages, considers leaves.  Returns 0, or -1 with w->err set. */
static int walk_object(struct walk *w, GMimeObject *obj, int depth)
{
    if (obj == NULL)
        return 0;
    if (++w->n_objects > w->lim->mime_parts) {
        tr_err_set(w->err, TR_E_LIMIT_MIME_PARTS,
                   "message has more than the mime-parts limit of %zu MIME parts", w->lim->mime_parts);
        return -1;
    }
    if (depth > TR_MIME_MAX_DEPTH) {
        tr_err_set(w->err, TR_E_LIMIT_MIME_PARTS, "MIME parts nested deeper than %d", TR_MIME_MAX_DEPTH);
        return -1;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = (GMimeMultipart *)obj;
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++)
            if (walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1) < 0)
                return -1;
        return 0;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message((GMimeMessagePart *)obj);
        return inner ? walk_object(w, g_mime_message_get_mime_part(inner), depth + 1) : 0;
    }
    if (GMIME_IS_PART(obj))
        return consider_part(w, (GMimePart *)obj);
    return 0;
}

/* The addr-spec of the first mailbox in From: (looking into groups). */
static char *first_address(InternetAddressList *list, int depth)
{
    int n = list ? internet_address_list_length(list) : 0;

    for (int i = 0; i < n; i++) {
        InternetAddress *a = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_MAILBOX(a))
            return clean_value(internet_address_mailbox_get_addr((InternetAddressMailbox *)a), 0);
        if (INTERNET_ADDRESS_IS_GROUP(a) && depth < 2) {
            char *s = first_address(internet_address_group_get_members((InternetAddressGroup *)a), depth + 1);
            if (s)
                return s;
        }
    }
    return NULL;
}

/* Copies the top-level headers the caller wants into m. */
static void copy_headers(GMimeMessage *gm, struct tr_message *m)
{
    GMimeObject *obj = (GMimeObject *)gm;
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    int n = hl ? g_mime_header_list_get_count(hl) : 0;
    size_t alloc = 0;

    m->message_id = clean_value(g_mime_message_get_message_id(gm), 0);
    m->report_domain = clean_value(g_mime_object_get_header(obj, "TLS-Report-Domain"), CLEAN_LOWER);
    m->report_submitter = clean_value(g_mime_object_get_header(obj, "TLS-Report-Submitter"), CLEAN_LOWER);
    m->from = first_address(g_mime_message_get_from(gm), 0);
    m->subject = clean_value(g_mime_message_get_subject(gm), CLEAN_COLLAPSE);
    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        char *v;
        if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Authentication-Results") != 0)
            continue;
        if ((v = clean_value(g_mime_header_get_raw_value(h), 0)) == NULL)
            continue;
        if (m->n_auth_results == alloc) {
            alloc = alloc ? 2 * alloc : 4;
            m->auth_results = xrealloc(m->auth_results, alloc * sizeof *m->auth_results);
        }
        m->auth_results[m->n_auth_results++] = v;
    }
}

/*
 * See mime.h.  p is borrowed for the duration of the call only.  A leading
 * mbox From_ line is skipped.  Fails with TR_E_LIMIT_MESSAGE_SIZE over
 * message-size, TR_E_LIMIT_MIME_PARTS from the pre-scan or the walk, and
 * TR_E_NOT_A_REPORT when GMime finds no message at all (empty input, a
 * lone From_ line, binary without header lines).
 */
int tr_message_parse(const unsigned char *p, size_t len, const struct tr_limits *lim,
                     struct tr_message **out, struct tr_err *err)
{
    struct tr_message *m;
    struct walk w;
    GByteArray *arr;
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeParserOptions *opts;
    GMimeMessage *gm;
    int ret = -1;

    tr_mime_init();
    *out = NULL;
    if (len > lim->message_size || len > G_MAXUINT) {
        tr_err_set(err, TR_E_LIMIT_MESSAGE_SIZE, "message of %zu bytes exceeds the message-size limit of %zu",
                   len, lim->message_size);
        return -1;
    }
    if (len >= 5 && memcmp(p, "From ", 5) == 0) {       /* skip an mbox From_ line */
        const unsigned char *nl = memchr(p, '\n', len);
        len = nl ? len - (size_t)(nl + 1 - p) : 0;
        p = nl ? nl + 1 : p + 5;
    }
    if (prescan(p, len, lim->mime_parts, err) < 0)
        return -1;

    /* Borrow p: GMime only reads it; the array is released without freeing p. */
    arr = g_byte_array_new_take((guint8 *)(uintptr_t)p, len);
    stream = g_mime_stream_mem_new_with_byte_array(arr);
    g_mime_stream_mem_set_owner((GMimeStreamMem *)stream, FALSE);
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    opts = g_mime_parser_options_new();
    g_mime_parser_options_set_warning_callback(opts, ignore_warning, NULL);
    gm = g_mime_parser_construct_message(parser, opts);

    m = xcalloc(1, sizeof *m);
    if (gm == NULL) {
        tr_err_set(err, TR_E_NOT_A_REPORT, "not a mail message");
    } else {
        copy_headers(gm, m);
        memset(&w, 0, sizeof w);
        w.lim = lim;
        w.msg = m;
        w.err = err;
        if (walk_object(&w, g_mime_message_get_mime_part(gm), 0) == 0)
            ret = 0;
    }

    if (gm)
        g_object_unref(gm);
    g_mime_parser_options_free(opts);
    g_object_unref(parser);
    g_object_unref(stream);
    g_byte_array_free(arr, FALSE);      /* frees the wrapper only, not p */
    if (ret < 0) {
        tr_message_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* See mime.h; NULL is a no-op. */
void tr_message_free(struct tr_message *m)
{
    if (m == NULL)
        return;
    free(m->message_id);
    free(m->report_domain);
    free(m->report_submitter);
    free(m->from);
    free(m->subject);
    for (size_t i = 0; i < m->n_auth_results; i++)
        free(m->auth_results[i]);
    free(m->auth_results);
    for (size_t i = 0; i < m->n_parts; i++) {
        free(m->parts[i].content_type);
        free(m->parts[i].filename);
        free(m->parts[i].data);
    }
    free(m->parts);
    free(m);
}
