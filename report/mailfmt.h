/*
 * mailfmt.h - Internet message syntax written by hand: quoted-printable
 * bodies (RFC 2045 6.7), free-text header fields as they are or as
 * RFC 2047 encoded words, address lists checked and rewritten (a strict
 * subset of RFC 5322 3.4), RFC 5322 dates.  email.c builds the summary
 * message with these; tests/report/mailfmt_drv.c lets report.email decode
 * their output with Python's email package.
 *
 * Everything is appended to a struct rpt_mail, whose buffer is capped: an
 * append that would pass the cap sets full and the rest is dropped, so the
 * caller checks full once, at the end.  Output is 7-bit with LF line ends.
 * Nothing here prints or exits (allocation failure aside: tr_oom()).
 */
#ifndef RPT_MAILFMT_H
#define RPT_MAILFMT_H

#include <stddef.h>
#include <stdint.h>

#include "tlsrpt/util.h"

/* Header lines are folded at a space before this column (RFC 5322 2.1.1). */
#define RPT_HEADER_COLS 78
/* Quoted-printable lines: at most 76 characters (RFC 2045 6.7 (5)). */
#define RPT_QP_COLS 76
/* An encoded word, and a header line that holds one (RFC 2047 2). */
#define RPT_EWORD_MAX 75
#define RPT_EWORD_LINE 76
/* Longest addr-spec (RFC 5321 4.5.3.1.3: a path is at most 256 octets). */
#define RPT_ADDR_SPEC_MAX 254
/* Addresses accepted in one address list (--to / --from). */
#define RPT_ADDR_MAX 1024

/* The message being written.  b is owned: tr_buf_steal() or tr_buf_free(). */
struct rpt_mail {
    struct tr_buf b;
    int full;          /* an append would have passed the cap: incomplete */
};

void rpt_mail_init(struct rpt_mail *m, size_t cap);
void rpt_mail_add(struct rpt_mail *m, const void *p, size_t n);
void rpt_mail_put(struct rpt_mail *m, const char *s);

/* len bytes of text (any bytes) as a quoted-printable body: LF is a line
 * break, CR is sent as =0D; '=', controls other than TAB, bytes over 0x7E,
 * a space or TAB before a line end and "From " at a line start are
 * escaped; soft breaks keep lines within RPT_QP_COLS and never split an
 * escape.  No line end is added: decoding gives back exactly the text. */
void rpt_mail_qp(struct rpt_mail *m, const char *text, size_t len);

/* "name: value\n" for free text (UTF-8): as it is, folded at spaces, when
 * it is printable ASCII a reader gives back unchanged and every word fits
 * on a line; else as "B" encoded words holding whole UTF-8 characters,
 * one per folded line.  So no line passes RPT_HEADER_COLS. */
void rpt_mail_text_header(struct rpt_mail *m, const char *name, const char *value);

/*
 * "name: list\n" from a comma-separated list of addresses, each one of
 *   local-part@domain    Display Name <local-part@domain>    local-part
 * (a bare local part, "postmaster", is left for sendmail to qualify).
 * The local part is a dot-atom, the domain letters, digits and hyphens in
 * dot-separated labels or an address literal in brackets: ASCII only, at
 * most RPT_ADDR_SPEC_MAX.  A display name is words and "quoted strings"
 * (with \ escapes) in UTF-8; no control character anywhere.  Names are
 * written as atoms, as a quoted string when they hold specials, or as
 * encoded words when not ASCII.  More than RPT_ADDR_MAX bytes, an empty
 * element or anything else fails with TR_E_USAGE naming --opt; m then
 * holds part of the field and is to be discarded.  Returns 0 or -1.
 */
int rpt_mail_address_header(struct rpt_mail *m, const char *name, const char *opt, const char *value,
                            struct tr_err *err);

/* "Date: Mon, 23 Nov 2026 00:00:00 +0000\n": UTC, English names whatever
 * the locale. */
void rpt_mail_date_header(struct rpt_mail *m, int64_t t);

#endif
