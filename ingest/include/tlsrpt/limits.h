/*
 * limits.h - every cap applied to sender-controlled input, with its name.
 * Each limit is configurable (tlsrpt-ingest --limit NAME=VALUE, milter
 * config keys); exceeding one quarantines the input with the TR_E_LIMIT_*
 * code that names it.
 */
#ifndef TLSRPT_LIMITS_H
#define TLSRPT_LIMITS_H

#include <stddef.h>
#include "tlsrpt/util.h"

struct tr_limits {
    size_t message_size;     /* "message-size": bytes of one message or file, default 25 MiB */
    size_t inflated_size;    /* "inflated-size": bytes after gunzip, default 64 MiB */
    size_t json_depth;       /* "json-depth": nesting of arrays/objects, default 32 */
    size_t policies;         /* "policies": per report, default 1000 */
    size_t failure_details;  /* "failure-details": per report (all policies), default 1000000 */
    size_t string_length;    /* "string-length": bytes of one JSON string, default 65536 */
    size_t mime_parts;       /* "mime-parts": MIME parts per message, default 1000 */
    size_t zip_entries;      /* "zip-entries": entries of one zip archive, default 100 */
    size_t zip_inflated_size;/* "zip-inflated-size": all entries of one zip inflated, default 64 MiB */
};

#define TR_LIMIT_MESSAGE_SIZE_DEFAULT   ((size_t)25 << 20)
#define TR_LIMIT_INFLATED_SIZE_DEFAULT  ((size_t)64 << 20)
#define TR_LIMIT_JSON_DEPTH_DEFAULT     32
#define TR_LIMIT_POLICIES_DEFAULT       1000
#define TR_LIMIT_FAILURES_DEFAULT       1000000
#define TR_LIMIT_STRING_LENGTH_DEFAULT  65536
#define TR_LIMIT_MIME_PARTS_DEFAULT     1000
#define TR_LIMIT_ZIP_ENTRIES_DEFAULT    100
#define TR_LIMIT_ZIP_SIZE_DEFAULT       ((size_t)64 << 20)

void tr_limits_default(struct tr_limits *lim);

/* Sets one limit by its name ("message-size", ...) from a decimal value
 * with an optional K/M/G suffix.  Returns 0, or -1 with err set. */
int tr_limits_set(struct tr_limits *lim, const char *name, const char *value, struct tr_err *err);

/* NULL-terminated list of limit names, for --help and config parsing. */
extern const char *const tr_limit_names[];

#endif
