/*
 * util.h - memory, capped buffers and error reporting shared by every module.
 *
 * Allocation failure is handled in one place (tr_oom): the x* functions never
 * return NULL.  Everything else reports failure to its caller through a
 * caller-supplied struct tr_err, never by printing or exiting, so the same
 * code is safe in the milter's threads and in the command-line tools.
 */
#ifndef TLSRPT_UTIL_H
#define TLSRPT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define TR_ERR_DETAIL_MAX 512

/* An error: a stable machine-readable code (a static string, see codes.h)
 * and a human-readable detail.  Caller-owned, usually on the stack. */
struct tr_err {
    const char *code;
    char detail[TR_ERR_DETAIL_MAX];
};

/* Sets both fields; code must be a string with static storage duration. */
void tr_err_set(struct tr_err *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tr_err_clear(struct tr_err *err);
/* 1 when err holds the code (compared as text: codes are strings). */
int tr_err_is(const struct tr_err *err, const char *code);

/* Called on allocation failure: the one place that aborts the process. */
_Noreturn void tr_oom(void);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A growable byte buffer with a hard cap.  tr_buf_append() fails (returns -1)
 * instead of growing past cap, so every buffer that holds sender data has a
 * named limit.  data is always NUL-terminated (the NUL is not counted in len
 * or against cap).  The buffer owns data; tr_buf_free() releases it.
 */
struct tr_buf {
    unsigned char *data;
    size_t len;
    size_t alloc;
    size_t cap;
};

void tr_buf_init(struct tr_buf *b, size_t cap);
int tr_buf_append(struct tr_buf *b, const void *p, size_t n);
/* Appends printf-formatted text (program text: escape data before).  Past
 * cap it appends what fits and returns -1, like a cut line; else 0. */
int tr_buf_printf(struct tr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tr_buf_vprintf(struct tr_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the bytes to the caller (who frees them) and resets the buffer. */
unsigned char *tr_buf_steal(struct tr_buf *b, size_t *len);
void tr_buf_free(struct tr_buf *b);

/* Reads a whole file or fd into memory, failing with TR_E_LIMIT_MESSAGE_SIZE
 * when it holds more than max bytes.  On success *out is caller-owned. */
int tr_read_fd(int fd, size_t max, unsigned char **out, size_t *len, struct tr_err *err);

/* write(2) until all len bytes are written; -1 with errno on failure. */
int tr_write_all(int fd, const void *p, size_t len);

/* Replaces path with the bytes atomically: a temporary file beside it
 * (O_EXCL, mode), write, fsync, rename, fsync of the directory.  A reader
 * sees the old file or the new one; on failure path is unchanged. */
int tr_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                         struct tr_err *err);

/* 1 when the bytes are valid UTF-8 without NUL, else 0. */
int tr_utf8_valid(const char *s, size_t n);

/* A copy of s[0..len) safe to print on a terminal: invalid UTF-8 bytes and
 * C0 controls and DEL as \xNN (tab and newline kept when keep_nl), C1
 * controls (NEL), U+2028/U+2029, bidi marks/overrides/isolates and the
 * zero-width characters and BOM (U+200B-U+200D, U+2060, U+FEFF) as
 * \uNNNN; past cap bytes the copy ends in "...".  Caller-owned,
 * NUL-terminated. */
char *tr_term_escape(const char *s, size_t len, int keep_nl, size_t cap);

/* Copies sender text into buf (cap > 4) for an error detail: printable
 * ASCII kept, every other byte shown as '?', cut with "..." to fit cap.
 * Safe to print, store and embed in JSON.  Returns buf. */
const char *tr_printable(const char *s, size_t n, char *buf, size_t cap);

/* Returns the basename part of a path (borrowed, points into path). */
const char *tr_basename(const char *path);

#endif
