/*
 * util.c - allocation, capped buffers, errors, whole-file reads.
 */
#include "tlsrpt/util.h"
#include "tlsrpt/codes.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tr_err_set(struct tr_err *err, const char *code, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL)
        return;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
}

void tr_err_clear(struct tr_err *err)
{
    if (err == NULL)
        return;
    err->code = NULL;
    err->detail[0] = '\0';
}

int tr_err_is(const struct tr_err *err, const char *code)
{
    return err != NULL && err->code != NULL && strcmp(err->code, code) == 0;
}

_Noreturn void tr_oom(void)
{
    static const char msg[] = "tlsrpt: out of memory\n";
    /* write(2) rather than stdio: it allocates nothing. */
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing more can be done */
    }
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        tr_oom();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        tr_oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        tr_oom();
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        tr_oom();
    p = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void tr_buf_init(struct tr_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

int tr_buf_append(struct tr_buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len)
        return -1;
    if (b->len + n + 1 > b->alloc) {
        size_t want = b->alloc ? b->alloc : 4096;
        while (want < b->len + n + 1)
            want *= 2;
        if (want > b->cap + 1)
            want = b->cap + 1;
        b->data = xrealloc(b->data, want);
        b->alloc = want;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int tr_buf_vprintf(struct tr_buf *b, const char *fmt, va_list ap)
{
    char small[512], *s = small;
    va_list again;
    int n, rc;

    va_copy(again, ap);
    n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= 0 && (size_t)n >= sizeof small) {
        s = xmalloc((size_t)n + 1);
        vsnprintf(s, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n < 0)
        return -1;
    rc = tr_buf_append(b, s, (size_t)n);
    if (rc < 0)
        (void)tr_buf_append(b, s, b->cap - b->len);     /* what fits */
    if (s != small)
        free(s);
    return rc;
}

int tr_buf_printf(struct tr_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = tr_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

unsigned char *tr_buf_steal(struct tr_buf *b, size_t *len)
{
    unsigned char *p = b->data;
    if (p == NULL) {
        p = xmalloc(1);
        p[0] = '\0';
    }
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->alloc = 0;
    return p;
}

void tr_buf_free(struct tr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

int tr_read_fd(int fd, size_t max, unsigned char **out, size_t *len, struct tr_err *err)
{
    struct tr_buf b;
    unsigned char chunk[65536];

    tr_buf_init(&b, max);
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            tr_err_set(err, TR_E_IO, "read: %s", strerror(errno));
            tr_buf_free(&b);
            return -1;
        }
        if (n == 0)
            break;
        if (tr_buf_append(&b, chunk, (size_t)n) < 0) {
            tr_err_set(err, TR_E_LIMIT_MESSAGE_SIZE, "input exceeds the message-size limit of %zu bytes", max);
            tr_buf_free(&b);
            return -1;
        }
    }
    *out = tr_buf_steal(&b, len);
    return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n > 0 bytes) and its
 * code point, or 0 when the bytes are not valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF included). */
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

int tr_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < n) {
        unsigned cp;
        size_t k;
        /* Eight ASCII bytes, none of them NUL, at a time: nearly all of a
         * report (a byte at a time this was 3% of a bulk import). */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (((w | ((w - 0x0101010101010101ull) & ~w)) & 0x8080808080808080ull) != 0)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        k = utf8_seq(s + i, n - i, &cp);
        if (k == 0 || cp == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* Code points a terminal or a mail reader must not receive raw: C1
 * controls (NEL U+0085 among them), the line and paragraph separators
 * U+2028/U+2029 (a new line in many renderers), the bidi marks,
 * embeddings, overrides and isolates that reorder what is shown, and the
 * invisible ones (zero-width space, non-joiner, joiner, word joiner, BOM)
 * that make two different names look alike. */
static int dangerous_cp(unsigned cp)
{
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069) || (cp >= 0x200B && cp <= 0x200F) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x2060 || cp == 0xFEFF;
}

char *tr_term_escape(const char *str, size_t len, int keep_nl, size_t cap)
{
    const unsigned char *s = (const unsigned char *)str;
    struct tr_buf b;
    char esc[16];
    size_t i = 0, len_out;
    char *res;

    tr_buf_init(&b, cap);
    while (i < len) {
        unsigned cp;
        size_t n = utf8_seq(s + i, len - i, &cp);
        int ok;

        if (n == 0) {
            snprintf(esc, sizeof esc, "\\x%02x", s[i]);
            ok = tr_buf_append(&b, esc, strlen(esc));
            i++;
        } else if (cp < 0x20 || cp == 0x7F) {
            if (keep_nl && (cp == '\n' || cp == '\t')) {
                ok = tr_buf_append(&b, s + i, 1);
            } else {
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
    res = (char *)tr_buf_steal(&b, &len_out);
    return xrealloc(res, len_out + 1);       /* the buffer grew in steps */
}

const char *tr_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Copies sender text into buf (cap > 4) for an error detail: printable ASCII
 * kept, every other byte shown as '?', cut with "..." to fit cap.  The
 * result is safe to print, store and embed in JSON.  Returns buf. */
const char *tr_printable(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0, max = cap - 4;

    for (size_t i = 0; i < n && o < max; i++)
        buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > max) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

int tr_write_all(int fd, const void *p, size_t len)
{
    const unsigned char *b = p;

    while (len > 0) {
        ssize_t w = write(fd, b, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

#define ATOMIC_TMP_TRIES 3      /* O_EXCL collisions tolerated */

/* fsync of the directory holding path, so a rename into it survives a crash. */
static int fsync_parent(const char *path, struct tr_err *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if (fd < 0 || fsync(fd) < 0) {
        tr_err_set(err, TR_E_IO, "fsync %s: %s", dir, strerror(errno));
        rc = -1;
    }
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

int tr_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                         struct tr_err *err)
{
    char *tmp = NULL;
    int fd = -1, rc = -1;

    for (int try = 0; try < ATOMIC_TMP_TRIES && fd < 0; try++) {
        free(tmp);
        tmp = xasprintf("%s.tmp.%ld.%d", path, (long)getpid(), try);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
        if (fd < 0 && errno == EEXIST)
            (void)unlink(tmp);      /* left by a dead process with our pid: ours to reuse */
        else if (fd < 0)
            break;
    }
    if (fd < 0) {
        tr_err_set(err, TR_E_IO, "create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    if (tr_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        tr_err_set(err, TR_E_IO, "write %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc < 0) {
        tr_err_set(err, TR_E_IO, "close %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = -1;
    if (rename(tmp, path) < 0) {
        tr_err_set(err, TR_E_IO, "rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    free(tmp);
    return fsync_parent(path, err);
out:
    if (fd >= 0)
        close(fd);
    (void)unlink(tmp);
    free(tmp);
    return rc;
}
