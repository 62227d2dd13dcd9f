/*
 * names.h - the one normalization of DNS names from reports.
 *
 * Every DNS name the store groups, filters or dedups by goes through
 * tr_name_normalize(): policy domains, receiving MX host names, HELO names,
 * the mx-host patterns of a policy and the "mx:" lines of an STS
 * policy-string.  The rules (tlsrpt-ingest(1), NAMES):
 *   - surrounding blanks (space, tab, CR, LF) are trimmed;
 *   - one trailing dot is removed ("example.net." is "example.net");
 *   - ASCII letters are lower-cased;
 *   - a name with non-ASCII characters (U-labels) or an "xn--" label is
 *     passed through libidn2 (UTS #46, non-transitional) and stored in its
 *     A-label form, so "bücher.example" and "xn--bcher-kva.example" are
 *     one name;
 *   - with TR_NAME_PATTERN a leading "*." label is kept (mx patterns);
 *   - an IP address literal ("[192.0.2.1]", an IPv6 address) is lower-cased;
 *   - a name that is not a valid host name after all that (an empty label,
 *     a label over 63 bytes, over 253 bytes, a byte other than letters,
 *     digits, '-' and '_', an A-label libidn2 rejects) is kept exactly as
 *     sent and reported as invalid: the caller sets TR_W_NAME_INVALID.
 * The name as sent is still in the report's raw JSON (tlsrpt-report show).
 */
#ifndef TLSRPT_NAMES_H
#define TLSRPT_NAMES_H

enum tr_name_flags {
    TR_NAME_HOST = 0,           /* a host or domain name */
    TR_NAME_PATTERN = 1u << 0,  /* an mx pattern: a leading "*." is allowed */
};

/* The longest name handled (RFC 1035's 253 in presentation form); longer
 * input is invalid and kept as sent. */
#define TR_NAME_MAX 253

/*
 * Normalizes s (NUL-terminated, borrowed).  Returns a caller-owned copy:
 * the normalized name, or NULL when s is only blanks (the name is absent).
 * *invalid is set to 1 when s is not a valid name (the copy is then s as
 * sent), else 0.  Never fails otherwise (allocation failure: tr_oom).
 */
char *tr_name_normalize(const char *s, unsigned flags, int *invalid);

/*
 * Normalizes the name in *s in place of the old string (freed), per
 * tr_name_normalize(); a NULL *s stays NULL.  Returns 1 when the name was
 * invalid (kept as sent), else 0.
 */
int tr_name_normalize_in_place(char **s, unsigned flags);

#endif
