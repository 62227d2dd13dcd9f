/*
 * mime.h - find the report parts of a mail message (GMime).
 *
 * Report parts are found by content type (application/tlsrpt+gzip,
 * application/tlsrpt+json, application/tlsrpt) and leniently
 * (application/gzip, application/x-gzip, application/octet-stream,
 * application/json, application/zip, or a .json/.json.gz/.gz/.zip file name
 * in name=, filename= or Content-Description), sniffing the decoded bytes;
 * never by Subject.  One message may carry several reports.
 */
#ifndef TLSRPT_MIME_H
#define TLSRPT_MIME_H

#include <stddef.h>
#include "tlsrpt/limits.h"

/* One candidate report part, transfer-decoded (base64/QP undone) but not
 * decompressed.  All fields owned by the enclosing tr_message. */
struct tr_part {
    char *content_type;      /* "type/subtype", lower case */
    char *filename;          /* sanitized for display: no '/', NUL or control chars; NULL if none */
    unsigned char *data;
    size_t len;
};

struct tr_message {
    char *message_id;        /* without <>, NULL if absent */
    char *report_domain;     /* TLS-Report-Domain, trimmed, NULL if absent */
    char *report_submitter;  /* TLS-Report-Submitter */
    char *from;              /* From: address (addr-spec only) */
    char *subject;
    char **auth_results;     /* every Authentication-Results header value, unfolded */
    size_t n_auth_results;
    struct tr_part *parts;   /* candidate report parts, in message order */
    size_t n_parts;
};

/* 1 when the bytes look like an RFC 5322 message (header lines first). */
int tr_looks_like_message(const unsigned char *p, size_t len);

/*
 * Parses a message of len bytes (CRLF or LF).  A message over
 * lim->mime_parts parts fails with TR_E_LIMIT_MIME_PARTS.  A message with no
 * candidate part still succeeds with n_parts == 0 (the caller quarantines it
 * as not-a-report).  *out is caller-owned: free with tr_message_free.
 * Thread-safe once tr_mime_init() has run.
 */
int tr_message_parse(const unsigned char *p, size_t len, const struct tr_limits *lim,
                     struct tr_message **out, struct tr_err *err);
void tr_message_free(struct tr_message *m);

/* g_mime_init() once per process, before threads start; idempotent. */
void tr_mime_init(void);

#endif
