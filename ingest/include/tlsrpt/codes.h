/*
 * codes.h - stable reason codes (quarantine, --dump errors) and warning
 * codes.  These strings are part of the interface: they are stored in the
 * database, printed by --dump and documented in tlsrpt-ingest(1).  Never
 * change one; add new ones.
 */
#ifndef TLSRPT_CODES_H
#define TLSRPT_CODES_H

/* Reasons an input yields no stored report. */
#define TR_E_NOT_A_REPORT        "not-a-report"        /* no report part / not JSON or gzip */
#define TR_E_BAD_GZIP            "bad-gzip"            /* truncated or corrupt compressed data */
#define TR_E_UNSUPPORTED         "unsupported-format"  /* e.g. a zip we cannot read */
#define TR_E_BAD_JSON            "bad-json"            /* JSON syntax error */
#define TR_E_INVALID_UTF8        "invalid-utf8"        /* invalid UTF-8 or NUL in the JSON text */
#define TR_E_MISSING_FIELD       "missing-field"       /* a required RFC 8460 field is absent */
#define TR_E_BAD_FIELD           "bad-field"           /* a field has the wrong type or value */
#define TR_E_BAD_DATE            "bad-date"            /* unparsable or out-of-range datetime */
#define TR_E_BAD_RANGE           "bad-date-range"      /* end before start */
#define TR_E_UNAUTHENTICATED     "unauthenticated"     /* RequireDKIM and no passing DKIM */
#define TR_E_IO                  "io-error"            /* the input could not be read */
#define TR_E_DB                  "db-error"            /* the database could not be written */
#define TR_E_DB_REFUSED          "db-refused"          /* the database refused this report's rows
                                                          (a constraint or trigger): it would again */
#define TR_E_CONFLICTING_DUPLICATE "conflicting-duplicate" /* the dedup key of a stored report,
                                                          different content (conflict.h) */
#define TR_E_USAGE               "usage"
#define TR_E_SKIPPED             "skipped"             /* a directory entry not read: a symbolic
                                                          link, FIFO, socket or device (source.h) */
/* A named limit was exceeded; the code names the limit. */
#define TR_E_LIMIT_MESSAGE_SIZE  "limit-message-size"
#define TR_E_LIMIT_INFLATED_SIZE "limit-inflated-size"
#define TR_E_LIMIT_JSON_DEPTH    "limit-json-depth"
#define TR_E_LIMIT_POLICIES      "limit-policies"
#define TR_E_LIMIT_FAILURES      "limit-failure-details"
#define TR_E_LIMIT_STRING_LENGTH "limit-string-length"
#define TR_E_LIMIT_MIME_PARTS    "limit-mime-parts"
#define TR_E_LIMIT_ZIP_ENTRIES   "limit-zip-entries"
#define TR_E_LIMIT_ZIP_SIZE      "limit-zip-inflated-size"

/* Warnings recorded on a stored report (bit flags, see report.h). */
enum tr_warning {
    TR_W_NO_TIMEZONE          = 1u << 0, /* "no-timezone": datetime without zone, UTC assumed */
    TR_W_DOMAIN_FROM_HEADER   = 1u << 1, /* "policy-domain-from-header" */
    TR_W_DOMAIN_FROM_FILENAME = 1u << 2, /* "policy-domain-from-filename" */
    TR_W_DOMAIN_MISSING       = 1u << 3, /* "policy-domain-missing": no source had it */
    TR_W_MX_HOST_STRING       = 1u << 4, /* "mx-host-string": single string, not array */
    TR_W_TLSA_EXPANDED        = 1u << 5, /* "tlsa-policy-string-expanded" (Microsoft) */
    TR_W_DRAFT_FIELD_NAME     = 1u << 6, /* "draft-field-name": failure-error-code etc. */
    TR_W_UNKNOWN_RESULT_TYPE  = 1u << 7, /* "unknown-result-type" */
    TR_W_UNKNOWN_POLICY_TYPE  = 1u << 8, /* "unknown-policy-type" */
    TR_W_FAILURES_EXCEED      = 1u << 9, /* "failure-count-exceeds-total" (Mail.ru) */
    TR_W_COUNT_MISSING        = 1u << 10,/* "summary-count-missing": taken as 0 */
    TR_W_END_ADJUSTED         = 1u << 11,/* "end-inclusive-adjusted": 23:59:59 -> next 00:00:00 */
    TR_W_NAME_INVALID         = 1u << 12,/* "invalid-dns-name": a name kept as sent (names.h) */
    TR_W_DATE_IMPLAUSIBLE     = 1u << 13,/* "date-range-implausible": before 2016 or in the future */
    /* These three also name what they found, as named warnings
     * "CODE=ARG" stored beside the codes (report.h tr_warn_named). */
    TR_W_UNKNOWN_FIELD        = 1u << 14,/* "unknown-field": a key RFC 8460 does not define, ignored */
    TR_W_MISSPELT_FIELD       = 1u << 15,/* "misspelt-field-name": receiving-mx-host-name taken */
    TR_W_ZIP_ENTRY_SKIPPED    = 1u << 16,/* "zip-entry-skipped": an archive entry that is no report */
};
#define TR_W_COUNT 17

/* The stable name of warning bit number i (0 <= i < TR_W_COUNT). */
const char *tr_warning_name(int i);
/* The stable name of warning w (one enum tr_warning bit). */
const char *tr_warning_name_of(unsigned w);

#endif
