/*
 * source.h - turn command-line PATHs into inputs: files (.json, .json.gz,
 * .gz, .eml, anything), mboxes, Maildirs, directories (recursive) and "-"
 * for stdin.
 */
#ifndef TLSRPT_SOURCE_H
#define TLSRPT_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include "tlsrpt/limits.h"

/* One input: a message or a report file.  All fields borrowed for the
 * duration of the callback only. */
struct tr_input {
    const char *source;          /* display name: path, "path:N" (Nth message of an mbox), "stdin" */
    const char *filename;        /* base name hint for the parser, or NULL */
    const unsigned char *data;
    size_t len;                  /* bytes in data; at most lim->message_size */
    size_t full_len;             /* size of the whole input; > len when truncated */
    int truncated;               /* 1 when the input exceeded lim->message_size */
    int64_t mtime;               /* file modification time (UTC seconds), or now */
};

/* Return 0 to go on, non-zero to stop the walk (tr_source_walk returns it). */
typedef int (*tr_input_cb)(void *ctx, const struct tr_input *in);

/*
 * Calls cb for every input under path, in a stable (sorted) order.  An input
 * over lim->message_size is still passed, truncated, with truncated=1, so
 * the caller can quarantine it.  Unreadable files are reported through
 * on_error (may be NULL) and skipped; symlinks are followed only for PATH
 * itself: below it each symlink, FIFO, socket or device is reported to
 * on_error with code TR_E_SKIPPED (the detail says what it is) and not
 * read.  Returns 0, the first non-zero cb result, or -1 with err set when
 * path itself cannot be opened.
 */
typedef void (*tr_source_error_cb)(void *ctx, const char *path, const struct tr_err *err);
int tr_source_walk(const char *path, const struct tr_limits *lim, tr_input_cb cb,
                   tr_source_error_cb on_error, void *ctx, struct tr_err *err);

#endif
