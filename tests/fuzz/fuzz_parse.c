/*
 * fuzz_parse.c - the JSON report parser and normalizer (tr_parse_report)
 * and the --dump serializer (tr_report_to_json).
 *
 * Input: JSON text.  When the first byte is not '{', '[' or blank, the
 * bytes up to the first NUL are hints ("REPORT-DOMAIN\nFILENAME") and the
 * rest is the JSON, so the policy-domain fallbacks are fuzzed too.
 *
 * Invariants (report.h): required strings present, non-empty (empty means
 * absent), valid UTF-8 and within string-length; start < end; at least one
 * policy and no more than the limits; counts >= 0; the --dump form is one
 * line of valid JSON.
 */
#include "fuzz.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/limits.h"
#include "tlsrpt/parse.h"
#include "tlsrpt/report.h"

#include <jansson.h>
#include <string.h>

static void check_string(const char *s, const struct tr_limits *lim, int required)
{
    if (s == NULL) {
        FUZZ_CHECK(!required);
        return;
    }
    FUZZ_CHECK(s[0] != '\0');
    FUZZ_CHECK(strlen(s) <= lim->string_length);
    FUZZ_CHECK(tr_utf8_valid(s, strlen(s)));
}

static void check_strings(char *const *a, size_t n, const struct tr_limits *lim)
{
    FUZZ_CHECK(n == 0 || a != NULL);
    for (size_t i = 0; i < n; i++)
        check_string(a[i], lim, 1);
}

static void check_report(const struct tr_report *r, const struct tr_limits *lim)
{
    size_t failures = 0;

    check_string(r->organization_name, lim, 1);
    check_string(r->report_id, lim, 1);
    check_string(r->contact_info, lim, 0);
    FUZZ_CHECK(r->start < r->end);
    FUZZ_CHECK(r->n_policies >= 1 && r->policies != NULL);
    FUZZ_CHECK(r->n_policies <= lim->policies);
    FUZZ_CHECK(r->warnings < (1u << TR_W_COUNT));
    for (size_t i = 0; i < r->n_policies; i++) {
        const struct tr_policy *p = &r->policies[i];
        check_string(p->policy_type, lim, 1);
        check_string(p->policy_domain, lim, !(r->warnings & TR_W_DOMAIN_MISSING));
        check_strings(p->policy_strings, p->n_policy_strings, lim);
        check_strings(p->mx_hosts, p->n_mx_hosts, lim);
        FUZZ_CHECK(p->successful_sessions >= 0);
        FUZZ_CHECK(p->failed_sessions >= 0);
        FUZZ_CHECK(p->n_failures == 0 || p->failures != NULL);
        for (size_t j = 0; j < p->n_failures; j++) {
            const struct tr_failure *f = &p->failures[j];
            check_string(f->result_type, lim, 1);
            check_string(f->sending_mta_ip, lim, 0);
            check_string(f->receiving_mx_hostname, lim, 0);
            check_string(f->receiving_mx_helo, lim, 0);
            check_string(f->receiving_ip, lim, 0);
            check_string(f->additional_information, lim, 0);
            check_string(f->failure_reason_code, lim, 0);
            FUZZ_CHECK(f->failed_sessions >= 0);
        }
        failures += p->n_failures;
    }
    FUZZ_CHECK(failures == tr_report_n_failures(r));
    FUZZ_CHECK(failures <= lim->failure_details);
}

static void check_dump(const struct tr_report *r)
{
    char *s = tr_report_to_json(r), *w = tr_warnings_to_string(r->warnings);
    json_error_t jerr;
    json_t *v;

    FUZZ_CHECK(s != NULL && w != NULL);
    FUZZ_CHECK(strchr(s, '\n') == NULL);
    v = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
    FUZZ_CHECK(v != NULL && json_is_object(v));
    json_decref(v);
    free(s);
    free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_limits lim;
    struct tr_parse_hints hints = { NULL, NULL };
    struct tr_report *r = NULL;
    struct tr_err err;
    char *hint_copy = NULL;
    const uint8_t *json = data;
    size_t len = size;

    tr_limits_default(&lim);
    lim.policies = 64;
    lim.failure_details = 4096;
    lim.string_length = 4096;

    if (size > 0 && data[0] != '{' && data[0] != '[' && data[0] != ' ' && data[0] != '\n') {
        const uint8_t *nul = memchr(data, '\0', size);
        if (nul != NULL) {
            char *nl;
            hint_copy = fuzz_strndup(data, (size_t)(nul - data));
            nl = strchr(hint_copy, '\n');
            if (nl != NULL) {
                *nl = '\0';
                hints.filename = nl + 1;
            }
            hints.report_domain = hint_copy[0] ? hint_copy : NULL;
            json = nul + 1;
            len = size - (size_t)(json - data);
        }
    }
    /* An exactly sized copy: the parser is given a length, not a string. */
    {
        uint8_t *copy = malloc(len ? len : 1);
        FUZZ_CHECK(copy != NULL);
        memcpy(copy, json, len);
        tr_err_clear(&err);
        if (tr_parse_report(copy, len, &hints, &lim, &r, &err) == 0) {
            FUZZ_CHECK(r != NULL);
            check_report(r, &lim);
            check_dump(r);
            tr_report_free(r);
        } else {
            FUZZ_CHECK(r == NULL);
            FUZZ_CHECK(err.code != NULL);
            FUZZ_CHECK(memchr(err.detail, '\0', sizeof err.detail) != NULL);
        }
        free(copy);
    }
    free(hint_copy);
    return 0;
}
