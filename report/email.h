/*
 * email.h - the summary email as a MIME message, and handing it to
 * a sendmail program.
 */
#ifndef RPT_EMAIL_H
#define RPT_EMAIL_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct rpt_email_opts {
    const char *from;     /* default "tlsrpt-report@HOSTNAME" */
    const char *to;       /* default "postmaster" */
    int64_t date;         /* Date: header (UTC seconds) */
};

/*
 * Builds the whole message: From, To, Subject (as it is when printable
 * ASCII, else RFC 2047 encoded words), Date (UTC, RFC 5322), Message-ID
 * (<time.pid.random@host>), MIME-Version, Auto-Submitted, X-Mailer, and a
 * multipart/alternative body with a text/plain and a text/html part, both
 * UTF-8, quoted-printable; 7-bit throughout, written by hand (mailfmt.h),
 * not with GMime.  --from/--to take a comma-separated list of
 * name@domain, Name <name@domain> or a bare local part (ASCII addresses,
 * names in any UTF-8, at most RPT_ADDR_MAX bytes); anything else, or a
 * control character, fails with TR_E_USAGE.  LF line ends (what sendmail
 * -t expects on a pipe).  *out is caller-owned.  Returns 0 or -1 with err.
 */
int rpt_email_build(const struct rpt_digest *d, const struct rpt_email_opts *o, char **out,
                    size_t *out_len, struct tr_err *err);

/* Runs "path -t -i" (no shell) with the message on its stdin and waits.
 * Returns 0 when it exited 0, else -1 with err. */
int rpt_email_sendmail(const char *path, const char *msg, size_t len, struct tr_err *err);

#endif
