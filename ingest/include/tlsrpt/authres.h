/*
 * authres.h - DKIM verdicts from Authentication-Results headers (RFC 8601).
 *
 * RFC 8460 section 3: reports by mail must carry a valid DKIM signature of
 * the reporting domain.  tlsrpt does not verify DKIM itself; like OpenDMARC
 * it trusts the Authentication-Results headers added by the MTA's verifier
 * whose authserv-id is listed as trusted.
 */
#ifndef TLSRPT_AUTHRES_H
#define TLSRPT_AUTHRES_H

#include <stddef.h>

enum tr_dkim {
    TR_DKIM_UNCHECKED = 0,  /* no trusted authserv-ids configured: not evaluated */
    TR_DKIM_NONE,           /* no trusted Authentication-Results header carried a dkim result */
    TR_DKIM_FAIL,           /* trusted results, but no dkim=pass for the submitter's domain */
    TR_DKIM_PASS,           /* dkim=pass with header.d (or header.i) = the submitter's domain or a parent/child of it */
};

/* "pass", "fail", "none", or NULL for TR_DKIM_UNCHECKED (stored as NULL). */
const char *tr_dkim_name(enum tr_dkim d);

/*
 * Evaluates header values (as in struct tr_message) against the list of
 * trusted authserv-ids (case-insensitive).  submitter_domain is the domain of
 * TLS-Report-Submitter, or of the From address when that header is absent.
 * All arguments borrowed.
 */
enum tr_dkim tr_authres_dkim(char *const *values, size_t n_values,
                             char *const *trusted_ids, size_t n_trusted,
                             const char *submitter_domain);

#endif
