/*
 * parse.c - RFC 8460 report JSON text -> normalized struct tr_report.
 *
 * The text is untrusted.  Before any JSON reader sees it, a linear pre-scan
 * checks that it looks like a JSON object at all, that it holds no NUL byte
 * and is valid UTF-8, and that arrays/objects nest no deeper than
 * lim->json_depth, so no recursive parser is driven deep.  The fast reader
 * (jsonfast.h) builds jansson's tree, or leaves the text to jansson, which
 * then parses it (JSON_REJECT_DUPLICATES: a report with two values for one key is
 * ambiguous, and numbers we cannot trust are worse than a quarantined
 * report), and the tree is walked once, copying every value we keep into a
 * freshly allocated struct tr_report.  The jansson tree lives in a
 * per-thread arena (jarena.h) dropped before returning; nothing in the
 * report points into it.
 *
 * Normalizations (DESIGN.md, REAL-WORLD-REPORTS.md), each flagged with a
 * TR_W_* warning where the sender deviated from RFC 8460:
 *   - empty strings and JSON null are absent (NULL), for every string field
 *     and for string-array elements; an array left empty is absent (NULL);
 *   - datetimes without a zone are UTC; the range is made half-open by
 *     adding one second to an end that falls on second 59 of a minute;
 *   - mx-host may be one string; mx-host-pattern, failure-error-code and
 *     additional-info-uri are accepted as draft names of the RFC fields;
 *   - a tlsa policy-string element that is itself a JSON array of strings
 *     (Microsoft) is expanded into its records;
 *   - a missing policy-domain comes from the hints (header, then file name);
 *     policy domains, MX host names, HELO names and mx patterns (mx-host,
 *     the "mx:" lines of an STS policy-string) are normalized by names.h,
 *     since the store groups, filters and dedups by them;
 *   - a line end at the end of a policy-string element (Google) is removed;
 *   - a date range outside the plausible window (dates.h) is flagged;
 *   - missing summary counts are 0 (failures: the sum of the details).
 * Every error detail starts with the JSON path of the offending field.
 */
#include "tlsrpt/parse.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/dates.h"
#include "tlsrpt/names.h"
#include "tlsrpt/jarena.h"
#include "tlsrpt/jsonfast.h"

#include <jansson.h>
#include <time.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 160    /* "policies[N].failure-details[N].failure-reason-code" fits */

/* Parser state shared by the tree walk.  Everything borrowed. */
struct ctx {
    const struct tr_limits *lim;
    const struct tr_parse_hints *hints;
    struct tr_err *err;
    unsigned warnings;          /* TR_W_* bits collected so far */
    size_t n_failures;          /* failure details so far, all policies */
    char **named;               /* owned: named warnings so far (report.h) */
    size_t n_named;
};

/* Sets warning bit w and records it named: "CODE=path.key". */
static void warn_named(struct ctx *c, unsigned w, const char *path)
{
    c->warnings |= w;
    tr_warn_named(&c->named, &c->n_named, tr_warning_name_of(w), path);
}

static const char *const result_types[] = {
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
    NULL,
};

static const char *const policy_types[] = { "sts", "tlsa", "no-policy-found", NULL };

/* 1 when s is one of the NULL-terminated list. */
static int in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* Copies n bytes of src to buf at *o, stopping at PATH_MAX_LEN - 1. */
static void path_put(char *buf, size_t *o, const char *src, size_t n)
{
    if (n > PATH_MAX_LEN - 1 - *o)
        n = PATH_MAX_LEN - 1 - *o;
    memcpy(buf + *o, src, n);
    *o += n;
}

/* Formats "prefix.key" (or just key when prefix is empty) into buf, which
 * holds PATH_MAX_LEN bytes; a longer path (impossible with our keys and
 * size_t indexes) would be cut, which only shortens an error detail.
 * Built with memcpy, not snprintf: it runs for every field of every
 * report, and snprintf was 9% of a bulk import. */
static const char *join(char *buf, const char *prefix, const char *key)
{
    size_t o = 0;

    path_put(buf, &o, prefix, strlen(prefix));
    if (*prefix)
        path_put(buf, &o, ".", 1);
    path_put(buf, &o, key, strlen(key));
    buf[o] = '\0';
    return buf;
}

/* Formats "prefix[i]" into buf (PATH_MAX_LEN bytes), like join(). */
static const char *index_path(char *buf, const char *prefix, size_t i)
{
    char digits[24];
    size_t o = 0, d = sizeof digits;

    do {
        digits[--d] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    path_put(buf, &o, prefix, strlen(prefix));
    path_put(buf, &o, "[", 1);
    path_put(buf, &o, digits + d, sizeof digits - d);
    path_put(buf, &o, "]", 1);
    buf[o] = '\0';
    return buf;
}

/* jansson's name for a value's type, for "expected X, got Y" details. */
static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/*
 * Scans n bytes of JSON text: outside strings (escapes honoured) every '['
 * or '{' opens a level.  Returns 0 when no level exceeds max, else -1 with
 * the offset of the first byte that went too deep in *where.
 */
static int depth_ok(const unsigned char *s, size_t n, size_t max, size_t *where)
{
    size_t depth = 0;
    int in_str = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                *where = i;
                return -1;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

/*
 * A string value: absent, null or "" -> *out = NULL; a string -> caller-owned
 * copy in *out.  Any other type is TR_E_BAD_FIELD, a NUL inside the string
 * TR_E_INVALID_UTF8, more than lim->string_length bytes the string-length
 * limit.  Returns 0 or -1 (err set, naming path).
 */
static int str_value(struct ctx *c, const json_t *v, const char *path, char **out)
{
    size_t len;

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "%s: expected a string, got %s", path, type_name(v));
        return -1;
    }
    len = json_string_length(v);
    if (strlen(json_string_value(v)) != len) {
        tr_err_set(c->err, TR_E_INVALID_UTF8, "%s: NUL character in string", path);
        return -1;
    }
    if (len > c->lim->string_length) {
        tr_err_set(c->err, TR_E_LIMIT_STRING_LENGTH,
                   "%s: string of %zu bytes exceeds the string-length limit of %zu",
                   path, len, c->lim->string_length);
        return -1;
    }
    if (len > 0)
        *out = xstrndup(json_string_value(v), len);
    return 0;
}

/* str_value() for member key of obj; prefix is obj's path. */
static int get_str(struct ctx *c, const json_t *obj, const char *key, const char *prefix, char **out)
{
    char path[PATH_MAX_LEN];
    return str_value(c, json_object_get(obj, key), join(path, prefix, key), out);
}

/* Like get_str(), but an absent value is TR_E_MISSING_FIELD. */
static int need_str(struct ctx *c, const json_t *obj, const char *key, const char *prefix, char **out)
{
    char path[PATH_MAX_LEN];

    if (str_value(c, json_object_get(obj, key), join(path, prefix, key), out) < 0)
        return -1;
    if (*out == NULL) {
        tr_err_set(c->err, TR_E_MISSING_FIELD, "%s: missing", path);
        return -1;
    }
    return 0;
}

/* The RFC field key of obj, else its other name alt (setting warning
 * TR_W_DRAFT_FIELD_NAME when that one supplied the value). */
static int get_str_alt(struct ctx *c, const json_t *obj, const char *key, const char *alt,
                       const char *prefix, char **out)
{
    if (get_str(c, obj, key, prefix, out) < 0)
        return -1;
    if (*out == NULL) {
        if (get_str(c, obj, alt, prefix, out) < 0)
            return -1;
        if (*out != NULL)
            c->warnings |= TR_W_DRAFT_FIELD_NAME;
    }
    return 0;
}

/* The keys parse.c reads in each RFC 8460 object (with the draft names
 * and the misspelling it accepts); any other key is flagged. */
static const char *const keys_root[] = {
    "organization-name", "date-range", "contact-info", "report-id", "policies", NULL,
};
static const char *const keys_range[] = { "start-datetime", "end-datetime", NULL };
static const char *const keys_entry[] = { "policy", "summary", "failure-details", NULL };
static const char *const keys_policy[] = {
    "policy-type", "policy-string", "policy-domain", "mx-host", "mx-host-pattern", NULL,
};
static const char *const keys_summary[] = {
    "total-successful-session-count", "total-failure-session-count", NULL,
};
static const char *const keys_failure[] = {
    "result-type", "sending-mta-ip", "receiving-mx-hostname", "receiving-mx-host-name",
    "receiving-mx-helo", "receiving-ip", "failed-session-count", "additional-information",
    "additional-info-uri", "failure-reason-code", "failure-error-code", NULL,
};

/* Flags every key of obj (at path) not in known with TR_W_UNKNOWN_FIELD,
 * named by its path: the value is ignored, but the sender meant
 * something by it and the postmaster should see that it was dropped. */
static void check_keys(struct ctx *c, const json_t *obj, const char *path, const char *const *known)
{
    const char *key;
    json_t *v;
    char kpath[PATH_MAX_LEN];

    json_object_foreach((json_t *)obj, key, v) {
        (void)v;
        if (!in_list(key, known))
            warn_named(c, TR_W_UNKNOWN_FIELD, join(kpath, path, key));
    }
}

/*
 * A session count: a JSON integer 0..INT64_MAX.  Absent or null sets
 * *present = 0 and *out = 0; negative numbers, reals, digit strings and
 * other types are TR_E_BAD_FIELD naming path.  Returns 0 or -1.
 */
static int count_value(struct ctx *c, const json_t *v, const char *path, int64_t *out, int *present)
{
    *out = 0;
    *present = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v)) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "%s: expected an integer count, got %s", path, type_name(v));
        return -1;
    }
    if (json_integer_value(v) < 0) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "%s: negative count %" JSON_INTEGER_FORMAT,
                   path, json_integer_value(v));
        return -1;
    }
    *out = (int64_t)json_integer_value(v);
    *present = 1;
    return 0;
}

/* An object member that must be an object when present: 0 with *out
 * borrowed (NULL when absent or null), or -1 with TR_E_BAD_FIELD. */
static int get_obj(struct ctx *c, const json_t *obj, const char *key, const char *prefix,
                   json_t **out)
{
    char path[PATH_MAX_LEN];
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v)) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "%s: expected an object, got %s",
                   join(path, prefix, key), type_name(v));
        return -1;
    }
    *out = v;
    return 0;
}

/* Appends caller-owned s to the growing array *arr of *n entries. */
static void push(char ***arr, size_t *n, char *s)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = s;
}

/*
 * Microsoft's TLSA policy-string element: when s is a JSON array of strings,
 * appends its non-empty records to *arr and returns 1; returns 0 (and
 * appends nothing) when s is anything else, so the caller keeps s as sent.
 * Returns -1 with err set when a record exceeds the string-length limit.
 */
static int expand_tlsa(struct ctx *c, const char *s, const char *path, char ***arr, size_t *n)
{
    size_t len = strlen(s), where, i;
    const char *p = s;
    json_t *a, *v;
    json_error_t jerr;

    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    /* An array of strings nests exactly one level deep. */
    if (*p != '[' || depth_ok((const unsigned char *)s, len, 1, &where) < 0)
        return 0;
    a = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
    if (a == NULL || !json_is_array(a)) {
        json_decref(a);
        return 0;
    }
    json_array_foreach(a, i, v)
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            json_decref(a);
            return 0;
        }
    json_array_foreach(a, i, v) {
        char *rec;
        if (str_value(c, v, path, &rec) < 0) {
            json_decref(a);
            return -1;
        }
        if (rec != NULL)
            push(arr, n, rec);
    }
    json_decref(a);
    c->warnings |= TR_W_TLSA_EXPANDED;
    return 1;
}

/*
 * A string array (policy-string, mx-host) at path: absent, null or [] ->
 * *out = NULL, *n = 0.  Empty elements are dropped.  single_ok accepts one
 * string in place of the array (TR_W_MX_HOST_STRING); tlsa expands
 * JSON-encoded TLSA arrays.  On success *out is caller-owned (each string
 * and the array); on failure nothing is left allocated.  Returns 0 or -1.
 */
static int str_array(struct ctx *c, const json_t *v, const char *path, int single_ok, int tlsa,
                     char ***out, size_t *n)
{
    char epath[PATH_MAX_LEN], *s;
    size_t i;
    const json_t *e;

    *out = NULL;
    *n = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_string(v) && single_ok) {
        if (str_value(c, v, path, &s) < 0)
            return -1;
        if (s != NULL) {
            push(out, n, s);
            c->warnings |= TR_W_MX_HOST_STRING;
        }
        return 0;
    }
    if (!json_is_array(v)) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "%s: expected an array of strings, got %s",
                   path, type_name(v));
        return -1;
    }
    json_array_foreach(v, i, e) {
        int r = 0;
        index_path(epath, path, i);
        if (str_value(c, e, epath, &s) < 0)
            goto fail;
        if (s == NULL)
            continue;
        if (tlsa && (r = expand_tlsa(c, s, epath, out, n)) < 0) {
            free(s);
            goto fail;
        }
        if (r == 1)
            free(s);
        else
            push(out, n, s);
    }
    return 0;
fail:
    for (i = 0; i < *n; i++)
        free((*out)[i]);
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

/* One failure-details entry at path into *f (zeroed by the caller; on
 * failure the caller frees what was filled in).  Returns 0 or -1. */
static int parse_failure(struct ctx *c, const json_t *d, const char *path, struct tr_failure *f)
{
    char fpath[PATH_MAX_LEN];
    int present;

    if (!json_is_object(d)) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "%s: expected an object, got %s", path, type_name(d));
        return -1;
    }
    if (need_str(c, d, "result-type", path, &f->result_type) < 0
        || get_str(c, d, "sending-mta-ip", path, &f->sending_mta_ip) < 0
        || get_str(c, d, "receiving-mx-hostname", path, &f->receiving_mx_hostname) < 0
        || (f->receiving_mx_hostname == NULL
            && get_str(c, d, "receiving-mx-host-name", path, &f->receiving_mx_hostname) < 0)
        || get_str(c, d, "receiving-mx-helo", path, &f->receiving_mx_helo) < 0
        || get_str(c, d, "receiving-ip", path, &f->receiving_ip) < 0
        || get_str_alt(c, d, "additional-information", "additional-info-uri", path,
                       &f->additional_information) < 0
        || get_str_alt(c, d, "failure-reason-code", "failure-error-code", path,
                       &f->failure_reason_code) < 0
        || count_value(c, json_object_get(d, "failed-session-count"),
                       join(fpath, path, "failed-session-count"), &f->failed_sessions, &present) < 0)
        return -1;
    if (!present)
        c->warnings |= TR_W_COUNT_MISSING;
    if (tr_name_normalize_in_place(&f->receiving_mx_hostname, TR_NAME_HOST)
        | tr_name_normalize_in_place(&f->receiving_mx_helo, TR_NAME_HOST))
        c->warnings |= TR_W_NAME_INVALID;
    /* A real reporter's misspelling, taken as the RFC field when that is
     * absent (and flagged either way: it is not the RFC's name). */
    if (json_object_get(d, "receiving-mx-host-name") != NULL)
        warn_named(c, TR_W_MISSPELT_FIELD, join(fpath, path, "receiving-mx-host-name"));
    check_keys(c, d, path, keys_failure);
    if (!in_list(f->result_type, result_types))
        c->warnings |= TR_W_UNKNOWN_RESULT_TYPE;
    return 0;
}

/* 1 when the n bytes at s can be a domain name taken from a header or file
 * name: 1..253 bytes of letters, digits, '-', '.', '_' or UTF-8. */
static int plausible_domain(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
            return 0;
    }
    return tr_utf8_valid(s, n);
}

/*
 * A policy-domain for a policy that has none: the TLS-Report-Domain header,
 * else the second '!'-separated field of the file name (submitter!domain!...),
 * setting the matching warning.  Returns a caller-owned normalized copy, or
 * NULL (TR_W_DOMAIN_MISSING) when neither supplies a plausible domain.
 */
static char *domain_from_hints(struct ctx *c)
{
    const struct tr_parse_hints *h = c->hints;
    char *d = NULL;

    if (h != NULL && h->report_domain != NULL) {
        const char *s = h->report_domain, *e;
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
            e--;
        if (plausible_domain(s, (size_t)(e - s))) {
            d = xstrndup(s, (size_t)(e - s));
            c->warnings |= TR_W_DOMAIN_FROM_HEADER;
        }
    }
    if (d == NULL && h != NULL && h->filename != NULL) {
        const char *s = strchr(tr_basename(h->filename), '!'), *e;
        if (s != NULL && (e = strchr(s + 1, '!')) != NULL && plausible_domain(s + 1, (size_t)(e - s - 1))) {
            d = xstrndup(s + 1, (size_t)(e - s - 1));
            c->warnings |= TR_W_DOMAIN_FROM_FILENAME;
        }
    }
    if (d == NULL)
        c->warnings |= TR_W_DOMAIN_MISSING;
    else if (tr_name_normalize_in_place(&d, TR_NAME_HOST))
        c->warnings |= TR_W_NAME_INVALID;
    return d;
}

/* Removes the NULL entries of arr (*n entries), keeping the order. */
static void drop_null(char **arr, size_t *n)
{
    size_t o = 0;

    for (size_t i = 0; i < *n; i++)
        if (arr[i] != NULL)
            arr[o++] = arr[i];
    *n = o;
}

/*
 * The policy-string lines of p: line ends at the end of an element removed
 * (Google ends each element with "\r"), elements left empty dropped, and
 * in an STS policy the value of each "mx:" line normalized as an mx
 * pattern (names.h), so that patterns group like mx-host does.
 */
static void policy_lines(struct ctx *c, struct tr_policy *p)
{
    int sts = strcmp(p->policy_type, "sts") == 0;

    for (size_t i = 0; i < p->n_policy_strings; i++) {
        char *l = p->policy_strings[i], *v;
        size_t len = strlen(l);

        while (len > 0 && (l[len - 1] == '\r' || l[len - 1] == '\n'))
            l[--len] = '\0';
        if (len == 0) {
            free(l);
            p->policy_strings[i] = NULL;
            continue;
        }
        if (!sts || strncasecmp(l, "mx", 2) != 0)
            continue;
        v = l + 2;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v != ':')
            continue;
        {
            int invalid = 0;
            char *n = tr_name_normalize(v + 1, TR_NAME_PATTERN, &invalid);
            if (invalid)
                c->warnings |= TR_W_NAME_INVALID;
            if (n != NULL && !invalid) {
                p->policy_strings[i] = xasprintf("mx: %s", n);
                free(l);
            }
            free(n);
        }
    }
    drop_null(p->policy_strings, &p->n_policy_strings);
    if (p->n_policy_strings == 0) {
        free(p->policy_strings);
        p->policy_strings = NULL;
    }
}

/* One policies[] entry at path into *p (zeroed by the caller; on failure
 * the caller frees what was filled in).  Returns 0 or -1. */
static int parse_policy(struct ctx *c, const json_t *e, const char *path, struct tr_policy *p)
{
    char ppath[PATH_MAX_LEN], spath[PATH_MAX_LEN], fpath[PATH_MAX_LEN];
    json_t *pol, *sum, *fd, *mx;
    int have_ok, have_fail, draft_mx = 0;
    int64_t sum_details = 0;
    size_t i;

    if (!json_is_object(e)) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "%s: expected an object, got %s", path, type_name(e));
        return -1;
    }
    if (get_obj(c, e, "policy", path, &pol) < 0 || get_obj(c, e, "summary", path, &sum) < 0)
        return -1;
    join(ppath, path, "policy");
    join(spath, path, "summary");
    if (pol == NULL) {
        tr_err_set(c->err, TR_E_MISSING_FIELD, "%s: missing", ppath);
        return -1;
    }
    check_keys(c, e, path, keys_entry);
    check_keys(c, pol, ppath, keys_policy);
    if (sum != NULL)
        check_keys(c, sum, spath, keys_summary);
    if (need_str(c, pol, "policy-type", ppath, &p->policy_type) < 0
        || get_str(c, pol, "policy-domain", ppath, &p->policy_domain) < 0
        || str_array(c, json_object_get(pol, "policy-string"), join(fpath, ppath, "policy-string"),
                     0, strcmp(p->policy_type, "tlsa") == 0,
                     &p->policy_strings, &p->n_policy_strings) < 0)
        return -1;
    if (!in_list(p->policy_type, policy_types))
        c->warnings |= TR_W_UNKNOWN_POLICY_TYPE;
    if (tr_name_normalize_in_place(&p->policy_domain, TR_NAME_HOST))
        c->warnings |= TR_W_NAME_INVALID;
    if (p->policy_domain == NULL)
        p->policy_domain = domain_from_hints(c);
    policy_lines(c, p);

    mx = json_object_get(pol, "mx-host");
    join(fpath, ppath, "mx-host");
    if (mx == NULL || json_is_null(mx)) {
        mx = json_object_get(pol, "mx-host-pattern");
        join(fpath, ppath, "mx-host-pattern");
        draft_mx = 1;
    }
    if (str_array(c, mx, fpath, 1, 0, &p->mx_hosts, &p->n_mx_hosts) < 0)
        return -1;
    if (draft_mx && p->mx_hosts != NULL)
        c->warnings |= TR_W_DRAFT_FIELD_NAME;
    for (i = 0; i < p->n_mx_hosts; i++)
        if (tr_name_normalize_in_place(&p->mx_hosts[i], TR_NAME_PATTERN))
            c->warnings |= TR_W_NAME_INVALID;
    drop_null(p->mx_hosts, &p->n_mx_hosts);
    if (p->n_mx_hosts == 0) {
        free(p->mx_hosts);
        p->mx_hosts = NULL;
    }

    if (count_value(c, sum ? json_object_get(sum, "total-successful-session-count") : NULL,
                    join(fpath, spath, "total-successful-session-count"),
                    &p->successful_sessions, &have_ok) < 0
        || count_value(c, sum ? json_object_get(sum, "total-failure-session-count") : NULL,
                       join(fpath, spath, "total-failure-session-count"),
                       &p->failed_sessions, &have_fail) < 0)
        return -1;

    fd = json_object_get(e, "failure-details");
    join(fpath, path, "failure-details");
    if (fd != NULL && !json_is_null(fd) && !json_is_array(fd)) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "%s: expected an array, got %s", fpath, type_name(fd));
        return -1;
    }
    if (fd != NULL && json_array_size(fd) > 0) {
        size_t n = json_array_size(fd);
        if (n > c->lim->failure_details - c->n_failures) {
            tr_err_set(c->err, TR_E_LIMIT_FAILURES,
                       "%s: more than the failure-details limit of %zu entries in the report",
                       fpath, c->lim->failure_details);
            return -1;
        }
        c->n_failures += n;
        p->failures = xcalloc(n, sizeof *p->failures);
        p->n_failures = n;
        for (i = 0; i < n; i++) {
            char dpath[PATH_MAX_LEN];
            index_path(dpath, fpath, i);
            if (parse_failure(c, json_array_get(fd, i), dpath, &p->failures[i]) < 0)
                return -1;
            if (p->failures[i].failed_sessions > INT64_MAX - sum_details) {
                tr_err_set(c->err, TR_E_BAD_FIELD, "%s: failed-session-count sum overflows", fpath);
                return -1;
            }
            sum_details += p->failures[i].failed_sessions;
        }
    }
    if (!have_ok)
        c->warnings |= TR_W_COUNT_MISSING;
    if (!have_fail) {
        p->failed_sessions = sum_details;
        c->warnings |= TR_W_COUNT_MISSING;
    } else if (sum_details > p->failed_sessions) {
        c->warnings |= TR_W_FAILURES_EXCEED;
    }
    return 0;
}

/* Re-sets err's detail as "path: detail", keeping its code. */
static void err_prefix(struct tr_err *err, const char *path)
{
    char tmp[TR_ERR_DETAIL_MAX];

    if (err == NULL)
        return;
    memcpy(tmp, err->detail, sizeof tmp);
    tr_err_set(err, err->code, "%s: %s", path, tmp);
}

/* date-range into r->start/end: parse, make the range half-open, check
 * end > start.  Returns 0 or -1. */
static int parse_range(struct ctx *c, const json_t *root, struct tr_report *r)
{
    json_t *dr;
    char *s = NULL, *e = NULL;
    int nz1 = 0, nz2 = 0, rc = -1;
    char b1[TR_DATETIME_MAX], b2[TR_DATETIME_MAX];

    if (get_obj(c, root, "date-range", "", &dr) < 0)
        return -1;
    if (dr == NULL) {
        tr_err_set(c->err, TR_E_MISSING_FIELD, "date-range: missing");
        return -1;
    }
    check_keys(c, dr, "date-range", keys_range);
    if (need_str(c, dr, "start-datetime", "date-range", &s) < 0
        || need_str(c, dr, "end-datetime", "date-range", &e) < 0)
        goto out;
    if (tr_parse_datetime(s, &r->start, &nz1, c->err) < 0) {
        err_prefix(c->err, "date-range.start-datetime");
        goto out;
    }
    if (tr_parse_datetime(e, &r->end, &nz2, c->err) < 0) {
        err_prefix(c->err, "date-range.end-datetime");
        goto out;
    }
    if (nz1 || nz2)
        c->warnings |= TR_W_NO_TIMEZONE;

    /* An inclusive end (23:59:59, or :59 of any minute with an offset) is
     * made exclusive, so that a one-day report covers [D, D+1). */
    if (r->end % 60 == 59) {
        r->end++;
        c->warnings |= TR_W_END_ADJUSTED;
    }
    /* Stored as sent, but flagged: a year-9999 report is a sender's bug. */
    if (!tr_range_plausible(r->start, r->end, (int64_t)time(NULL)))
        c->warnings |= TR_W_DATE_IMPLAUSIBLE;
    if (r->end <= r->start) {
        tr_format_datetime(r->start, b1, sizeof b1);
        tr_format_datetime(r->end, b2, sizeof b2);
        tr_err_set(c->err, TR_E_BAD_RANGE, "date-range: end %s is not after start %s", b2, b1);
        goto out;
    }
    rc = 0;
out:
    free(s);
    free(e);
    return rc;
}

/* The tree walk: root (an object) into a new report.  Returns 0 with
 * *out caller-owned, or -1. */
static int parse_root(struct ctx *c, const json_t *root, struct tr_report **out)
{
    struct tr_report *r = xcalloc(1, sizeof *r);
    json_t *pols;
    size_t i, n;

    if (need_str(c, root, "organization-name", "", &r->organization_name) < 0
        || need_str(c, root, "report-id", "", &r->report_id) < 0
        || get_str(c, root, "contact-info", "", &r->contact_info) < 0
        || parse_range(c, root, r) < 0)
        goto fail;
    check_keys(c, root, "", keys_root);
    pols = json_object_get(root, "policies");
    if (pols == NULL || json_is_null(pols)) {
        tr_err_set(c->err, TR_E_MISSING_FIELD, "policies: missing");
        goto fail;
    }
    if (!json_is_array(pols)) {
        tr_err_set(c->err, TR_E_BAD_FIELD, "policies: expected an array, got %s", type_name(pols));
        goto fail;
    }
    n = json_array_size(pols);
    if (n == 0) {
        tr_err_set(c->err, TR_E_MISSING_FIELD, "policies: empty array");
        goto fail;
    }
    if (n > c->lim->policies) {
        tr_err_set(c->err, TR_E_LIMIT_POLICIES, "policies: %zu entries exceed the policies limit of %zu",
                   n, c->lim->policies);
        goto fail;
    }
    r->policies = xcalloc(n, sizeof *r->policies);
    r->n_policies = n;
    for (i = 0; i < n; i++) {
        char path[PATH_MAX_LEN];
        index_path(path, "policies", i);
        if (parse_policy(c, json_array_get(pols, i), path, &r->policies[i]) < 0)
            goto fail;
    }
    r->warnings = c->warnings;
    r->named_warnings = c->named;
    r->n_named_warnings = c->n_named;
    c->named = NULL;
    c->n_named = 0;
    *out = r;
    return 0;
fail:
    tr_report_free(r);
    return -1;
}

int tr_parse_report(const unsigned char *json, size_t len, const struct tr_parse_hints *hints,
                    const struct tr_limits *lim, struct tr_report **out, struct tr_err *err)
{
    struct tr_limits deflim;
    struct ctx c = { lim, hints, err, 0, 0, NULL, 0 };
    const unsigned char *p = json, *nul;
    size_t n = len, where;
    json_t *root;
    json_error_t jerr;
    char near[JSON_ERROR_TEXT_LENGTH + 4];
    int rc;

    *out = NULL;
    if (lim == NULL) {
        tr_limits_default(&deflim);
        c.lim = &deflim;
    }
    /* A UTF-8 byte order mark may be ignored (RFC 8259 section 8.1). */
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3, n -= 3;
    while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, n--;
    if (n == 0 || (*p != '{' && *p != '[')) {
        tr_err_set(err, TR_E_NOT_A_REPORT, n == 0 ? "empty input" : "not a JSON object: starts with '%s'",
                   tr_printable((const char *)p, n < 8 ? n : 8, near, sizeof near));
        return -1;
    }
    if ((nul = memchr(p, '\0', n)) != NULL) {
        tr_err_set(err, TR_E_INVALID_UTF8, "NUL byte at offset %zu", (size_t)(nul - json));
        return -1;
    }
    if (!tr_utf8_valid((const char *)p, n)) {
        tr_err_set(err, TR_E_INVALID_UTF8, "the JSON text is not valid UTF-8");
        return -1;
    }
    if (depth_ok(p, n, c.lim->json_depth, &where) < 0) {
        tr_err_set(err, TR_E_LIMIT_JSON_DEPTH, "nesting at offset %zu exceeds the json-depth limit of %zu",
                   (size_t)(p + where - json), c.lim->json_depth);
        return -1;
    }
    /* jansson's tree lives in this thread's arena (jarena.h): it is
     * dropped at once by tr_jarena_end(), never walked by json_decref. */
    tr_jarena_begin();
    /* The fast reader (jsonfast.h) leaves jansson whatever it is not sure
     * of, errors included, so the tree and every message are jansson's. */
    root = tr_json_fast_load((const char *)p, n);
    if (root == NULL)
        root = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        enum json_error_code code = json_error_code(&jerr);
        const char *what = TR_E_BAD_JSON;
        if (code == json_error_invalid_utf8 || code == json_error_null_character
            || code == json_error_null_byte_in_key || strncmp(jerr.text, "invalid Unicode", 15) == 0)
            what = TR_E_INVALID_UTF8;
        else if (code == json_error_numeric_overflow)
            what = TR_E_BAD_FIELD;
        /* jansson's text quotes the input: make it printable. */
        tr_err_set(err, what, "line %d column %d: %s", jerr.line, jerr.column,
                   tr_printable(jerr.text, strlen(jerr.text), near, sizeof near));
        rc = -1;
    } else if (!json_is_object(root)) {
        tr_err_set(err, TR_E_NOT_A_REPORT, "the JSON text is an array, not an object");
        rc = -1;
    } else if (json_object_get(root, "organization-name") == NULL && json_object_get(root, "report-id") == NULL
               && json_object_get(root, "policies") == NULL) {
        tr_err_set(err, TR_E_NOT_A_REPORT, "the JSON object has none of organization-name, report-id, policies");
        rc = -1;
    } else {
        rc = parse_root(&c, root, out);
    }
    tr_jarena_end();
    for (size_t i = 0; i < c.n_named; i++)   /* left only on failure */
        free(c.named[i]);
    free(c.named);
    return rc;
}
