/*
 * limits.c - defaults and by-name setting of the input limits (limits.h),
 * and the stable names of the warning codes (codes.h).
 */
#include "tlsrpt/limits.h"
#include "tlsrpt/codes.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *const tr_limit_names[] = {
    "message-size", "inflated-size", "json-depth", "policies",
    "failure-details", "string-length", "mime-parts", "zip-entries", "zip-inflated-size", NULL,
};

void tr_limits_default(struct tr_limits *lim)
{
    lim->message_size = TR_LIMIT_MESSAGE_SIZE_DEFAULT;
    lim->inflated_size = TR_LIMIT_INFLATED_SIZE_DEFAULT;
    lim->json_depth = TR_LIMIT_JSON_DEPTH_DEFAULT;
    lim->policies = TR_LIMIT_POLICIES_DEFAULT;
    lim->failure_details = TR_LIMIT_FAILURES_DEFAULT;
    lim->string_length = TR_LIMIT_STRING_LENGTH_DEFAULT;
    lim->mime_parts = TR_LIMIT_MIME_PARTS_DEFAULT;
    lim->zip_entries = TR_LIMIT_ZIP_ENTRIES_DEFAULT;
    lim->zip_inflated_size = TR_LIMIT_ZIP_SIZE_DEFAULT;
}

static size_t *limit_field(struct tr_limits *lim, const char *name)
{
    size_t *fields[] = {
        &lim->message_size, &lim->inflated_size, &lim->json_depth, &lim->policies,
        &lim->failure_details, &lim->string_length, &lim->mime_parts,
        &lim->zip_entries, &lim->zip_inflated_size,
    };
    for (size_t i = 0; tr_limit_names[i] != NULL; i++)
        if (strcmp(tr_limit_names[i], name) == 0)
            return fields[i];
    return NULL;
}

int tr_limits_set(struct tr_limits *lim, const char *name, const char *value, struct tr_err *err)
{
    size_t *field = limit_field(lim, name);
    unsigned long long v, mult = 1;
    char *end;

    if (field == NULL) {
        tr_err_set(err, TR_E_USAGE, "unknown limit '%s'", name);
        return -1;
    }
    if (value[0] < '0' || value[0] > '9') {
        tr_err_set(err, TR_E_USAGE, "limit %s: '%s' is not a number", name, value);
        return -1;
    }
    errno = 0;
    v = strtoull(value, &end, 10);
    switch (*end) {
    case 'k': case 'K': mult = 1024ULL; end++; break;
    case 'm': case 'M': mult = 1024ULL * 1024; end++; break;
    case 'g': case 'G': mult = 1024ULL * 1024 * 1024; end++; break;
    default: break;
    }
    if (errno != 0 || *end != '\0' || v == 0 || v > SIZE_MAX / mult) {
        tr_err_set(err, TR_E_USAGE, "limit %s: '%s' is not a positive size", name, value);
        return -1;
    }
    *field = (size_t)(v * mult);
    return 0;
}

static const char *const warning_names[TR_W_COUNT] = {
    "no-timezone",
    "policy-domain-from-header",
    "policy-domain-from-filename",
    "policy-domain-missing",
    "mx-host-string",
    "tlsa-policy-string-expanded",
    "draft-field-name",
    "unknown-result-type",
    "unknown-policy-type",
    "failure-count-exceeds-total",
    "summary-count-missing",
    "end-inclusive-adjusted",
    "invalid-dns-name",
    "date-range-implausible",
    "unknown-field",
    "misspelt-field-name",
    "zip-entry-skipped",
};

const char *tr_warning_name(int i)
{
    return i >= 0 && i < TR_W_COUNT ? warning_names[i] : "unknown";
}

const char *tr_warning_name_of(unsigned w)
{
    int i = 0;

    while (i < TR_W_COUNT && (1u << i) != w)
        i++;
    return tr_warning_name(i);
}
