/*
 * parse.h - JSON text -> normalized struct tr_report (jansson).
 *
 * Applies every normalization rule in DESIGN.md: missing zone = UTC,
 * half-open ranges, mx-host string or array, Microsoft's JSON-encoded TLSA
 * policy-string, empty strings = absent, draft field names, missing
 * policy-domain from the hints, unknown types kept, and every limit.
 */
#ifndef TLSRPT_PARSE_H
#define TLSRPT_PARSE_H

#include <stddef.h>
#include "tlsrpt/dates.h"      /* tr_parse_datetime(), for older callers */
#include "tlsrpt/limits.h"
#include "tlsrpt/report.h"

/* What the carrying message or file says, used to fill in a missing
 * policy-domain.  Both borrowed, either may be NULL. */
struct tr_parse_hints {
    const char *report_domain;   /* TLS-Report-Domain header */
    const char *filename;        /* attachment or file name: submitter!domain!begin!end[!id].json[.gz] */
};

/*
 * Parses len bytes of JSON (need not be NUL-terminated).  On success returns
 * 0 and a caller-owned report in *out (free with tr_report_free).  On
 * failure returns -1, *out is NULL, err->code is one of the TR_E_* codes.
 */
int tr_parse_report(const unsigned char *json, size_t len, const struct tr_parse_hints *hints,
                    const struct tr_limits *lim, struct tr_report **out, struct tr_err *err);

#endif
