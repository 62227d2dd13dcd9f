/*
 * imapparse.h - the parsing of an IMAP server's answers for imap.c,
 * without libcurl: pure functions over bytes the server sent (hostile),
 * so tests/fuzz/fuzz_imap.c can run them alone.
 *
 *   imap_lines_feed     cuts a custom command's answer into lines of at
 *                       most IMAP_LINE_MAX bytes, each handed to a parser
 *   imap_status_line    "* STATUS mbox (UIDVALIDITY n UIDNEXT m)"
 *   imap_listing_line   "* n FETCH (UID u RFC822.SIZE s FLAGS (...))"
 *   imap_keep_tagged    the server's last tagged answer, kept printable
 *
 * In the tlsrpt-ingest program only (CLI, like imap.c).
 */
#ifndef TLSRPT_INGEST_IMAPPARSE_H
#define TLSRPT_INGEST_IMAPPARSE_H

#include <stddef.h>
#include <stdint.h>
#include "imap.h"

#define IMAP_LINE_MAX           16384 /* one untagged line of a listing or STATUS answer */
#define IMAP_SERVER_TEXT_MAX    160   /* bytes of the server's last tagged answer kept */

/* Lines of an answer, each handed to a parser (NUL-terminated, without
 * its CR LF, borrowed for the call).  A line over IMAP_LINE_MAX bytes is
 * not handed on and sets too_long; one holding a NUL byte is not handed
 * on either (dropped like any line the parsers do not understand).  The caller zeroes the struct (it is
 * large: allocate it) and sets line, ctx and max_lines. */
struct imap_lines {
    char buf[IMAP_LINE_MAX];
    size_t len;
    size_t lines, max_lines;   /* lines seen; past max_lines (0: no cap) the transfer stops */
    int too_long, over_cap;    /* some line was over IMAP_LINE_MAX; max_lines was passed */
    int cur_drop;              /* the line being read is over IMAP_LINE_MAX or holds a NUL */
    void (*line)(void *ctx, const char *s);
    void *ctx;
};

/* Feeds n bytes of the answer.  Returns n, or 0 when the line cap was
 * passed (over_cap set: the caller stops the transfer). */
size_t imap_lines_feed(struct imap_lines *l, const char *p, size_t n);

/* STATUS: UIDVALIDITY and UIDNEXT of a "* STATUS" line (0 when absent,
 * ULLONG_MAX when too large: the caller checks both against uint32_t). */
struct imap_status_answer {
    unsigned long long uidvalidity, uidnext;
    int seen;                  /* a "* STATUS" line was read */
};
void imap_status_line(void *ctx, const char *s);    /* ctx: struct imap_status_answer */

/* The listing of one window of UIDs lo..hi: messages with a UID in the
 * window are appended to v (at most max; hits counts them all, truncated
 * is set when there were more than max).  v is owned by the caller's
 * listing (free). */
struct imap_listing {
    struct imap_msg *v;
    size_t n, alloc, max;
    uint32_t lo, hi;           /* the window asked for */
    size_t hits;               /* messages in this window */
    int truncated;
};
void imap_listing_line(void *ctx, const char *s);   /* ctx: struct imap_listing */

/* When data[0..size) (one line the server sent, not NUL-terminated) is a
 * tagged answer "TAG OK|NO|BAD ...", keeps it in tagged[0..cap) made
 * printable (tr_printable), unless tagged already holds a NO or BAD. */
void imap_keep_tagged(char *tagged, size_t cap, const char *data, size_t size);

#endif
