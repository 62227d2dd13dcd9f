/*
 * report.h - the in-memory model of one normalized RFC 8460 report.
 *
 * A struct tr_report owns everything it points to: every string, array and
 * nested struct is heap memory released by tr_report_free().  Absent values
 * are NULL (strings, arrays) -- the parser turns empty strings into NULL.
 * Times are UTC seconds; the range is half-open [start, end).
 */
#ifndef TLSRPT_REPORT_H
#define TLSRPT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "tlsrpt/util.h"

struct tr_failure {
    char *result_type;            /* never NULL; unknown types kept as sent */
    char *sending_mta_ip;
    char *receiving_mx_hostname;
    char *receiving_mx_helo;
    char *receiving_ip;
    int64_t failed_sessions;      /* >= 0 */
    char *additional_information;
    char *failure_reason_code;    /* also from the draft name failure-error-code */
};

struct tr_policy {
    char *policy_type;            /* never NULL */
    char *policy_domain;          /* NULL only with TR_W_DOMAIN_MISSING */
    char **policy_strings;        /* NULL when absent; n_policy_strings entries */
    size_t n_policy_strings;
    char **mx_hosts;              /* NULL when absent */
    size_t n_mx_hosts;
    int64_t successful_sessions;  /* >= 0 */
    int64_t failed_sessions;      /* >= 0 */
    struct tr_failure *failures;  /* NULL when none */
    size_t n_failures;
};

struct tr_report {
    char *organization_name;      /* never NULL */
    char *report_id;              /* never NULL */
    char *contact_info;
    int64_t start;                /* UTC seconds, inclusive */
    int64_t end;                  /* UTC seconds, exclusive, > start */
    struct tr_policy *policies;   /* n_policies >= 1 */
    size_t n_policies;
    unsigned warnings;            /* enum tr_warning bits (codes.h) */
    char **named_warnings;        /* NULL or n_named_warnings "CODE=ARG" tokens: a */
    size_t n_named_warnings;      /* warning with what it names (tr_report_warn_named) */
};

/* At most this many named warnings are kept per report (the code's bit in
 * warnings is set whatever the number). */
#define TR_NAMED_WARNINGS_MAX 32
/* Bytes of an argument kept in a named warning (longer ones are cut). */
#define TR_NAMED_WARNING_ARG_MAX 128

/*
 * Appends "code=ARG" to *arr (*n entries, caller-owned array of
 * caller-owned strings) unless it already holds TR_NAMED_WARNINGS_MAX.
 * ARG is arg's first TR_NAMED_WARNING_ARG_MAX bytes with every byte
 * other than ASCII letters, digits and "-._[]" written %XX, so a token is
 * one word of printable ASCII whatever the sender sent.
 */
void tr_warn_named(char ***arr, size_t *n, const char *code, const char *arg);

void tr_report_free(struct tr_report *r);   /* NULL is a no-op */

/* Total failure details across all policies. */
size_t tr_report_n_failures(const struct tr_report *r);

/*
 * The --dump form: one JSON object on one line (no trailing newline), with
 * exactly the keys documented in tlsrpt-ingest(1).  Returns a caller-owned
 * string.
 */
char *tr_report_to_json(const struct tr_report *r);

/* JSON array text of strings (policy_strings, mx_hosts) or NULL if arr is
 * NULL; caller-owned.  Used by the store and by --dump. */
char *tr_strings_to_json(char *const *arr, size_t n);

/* Space-separated warning names, "" when none; caller-owned. */
char *tr_warnings_to_string(unsigned warnings);

/* The stored form of r's warnings: the names of its warning bits, then its
 * named warnings, space-separated; "" when none; caller-owned. */
char *tr_report_warnings_string(const struct tr_report *r);

#endif
