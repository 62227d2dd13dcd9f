/*
 * report.c - life cycle and JSON renderings of struct tr_report (report.h).
 *
 * The --dump form is built as a jansson tree with the keys inserted in their
 * documented order and serialized with JSON_COMPACT | JSON_PRESERVE_ORDER
 * (UTF-8 kept as is, control characters and quotes escaped by jansson), so
 * the output is one line of valid JSON whatever a sender put in its strings.
 * Allocation failures inside jansson end in tr_oom() like everywhere else.
 */
#include "tlsrpt/report.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/dates.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Frees the n strings of arr and arr itself (NULL is a no-op). */
static void free_strings(char **arr, size_t n)
{
    if (arr == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(arr[i]);
    free(arr);
}

void tr_report_free(struct tr_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; r->policies != NULL && i < r->n_policies; i++) {
        struct tr_policy *p = &r->policies[i];
        free(p->policy_type);
        free(p->policy_domain);
        free_strings(p->policy_strings, p->n_policy_strings);
        free_strings(p->mx_hosts, p->n_mx_hosts);
        for (size_t k = 0; p->failures != NULL && k < p->n_failures; k++) {
            struct tr_failure *f = &p->failures[k];
            free(f->result_type);
            free(f->sending_mta_ip);
            free(f->receiving_mx_hostname);
            free(f->receiving_mx_helo);
            free(f->receiving_ip);
            free(f->additional_information);
            free(f->failure_reason_code);
        }
        free(p->failures);
    }
    free(r->policies);
    free_strings(r->named_warnings, r->n_named_warnings);
    free(r->organization_name);
    free(r->report_id);
    free(r->contact_info);
    free(r);
}

size_t tr_report_n_failures(const struct tr_report *r)
{
    size_t n = 0;
    for (size_t i = 0; r != NULL && i < r->n_policies; i++)
        n += r->policies[i].n_failures;
    return n;
}

/* A new jansson reference, never NULL (tr_oom on allocation failure). */
static json_t *must(json_t *v)
{
    if (v == NULL)
        tr_oom();
    return v;
}

/*
 * A new reference to s as a JSON string, or JSON null when s is NULL.
 * Strings from the parser are valid UTF-8; should one not be (a report
 * built elsewhere), its non-ASCII bytes become '?' rather than being lost.
 */
static json_t *jstr(const char *s)
{
    json_t *v;
    char *copy;

    if (s == NULL)
        return must(json_null());
    if ((v = json_string(s)) != NULL)
        return v;
    copy = xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = must(json_string(copy));
    free(copy);
    return v;
}

/* Sets obj[key] to v, taking v's reference. */
static void put(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set_new(obj, key, v) < 0)
        tr_oom();
}

/* Appends v to arr, taking v's reference. */
static void append(json_t *arr, json_t *v)
{
    if (json_array_append_new(arr, v) < 0)
        tr_oom();
}

/* A new reference: arr as a JSON array of strings, JSON null when NULL. */
static json_t *jstrings(char *const *arr, size_t n)
{
    json_t *a;

    if (arr == NULL)
        return must(json_null());
    a = must(json_array());
    for (size_t i = 0; i < n; i++)
        append(a, jstr(arr[i]));
    return a;
}

/* Serializes v compactly in insertion order, then drops v's reference.
 * Returns a caller-owned string (our allocator, not jansson's). */
static char *dump(json_t *v)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    size_t n = json_dumpb(v, NULL, 0, flags);
    char *out;

    if (n == 0)
        tr_oom();
    out = xmalloc(n + 1);
    if (json_dumpb(v, out, n, flags) != n)
        tr_oom();
    out[n] = '\0';
    json_decref(v);
    return out;
}

/* A new reference: one failure-details entry in --dump form. */
static json_t *failure_json(const struct tr_failure *f)
{
    json_t *o = must(json_object());

    put(o, "result_type", jstr(f->result_type));
    put(o, "sending_mta_ip", jstr(f->sending_mta_ip));
    put(o, "receiving_mx_hostname", jstr(f->receiving_mx_hostname));
    put(o, "receiving_mx_helo", jstr(f->receiving_mx_helo));
    put(o, "receiving_ip", jstr(f->receiving_ip));
    put(o, "failed_sessions", must(json_integer(f->failed_sessions)));
    put(o, "additional_information", jstr(f->additional_information));
    put(o, "failure_reason_code", jstr(f->failure_reason_code));
    return o;
}

/* A new reference: one policy in --dump form. */
static json_t *policy_json(const struct tr_policy *p)
{
    json_t *o = must(json_object()), *fd = must(json_array());

    put(o, "policy_type", jstr(p->policy_type));
    put(o, "policy_domain", jstr(p->policy_domain));
    put(o, "policy_strings", jstrings(p->policy_strings, p->n_policy_strings));
    put(o, "mx_hosts", jstrings(p->mx_hosts, p->n_mx_hosts));
    put(o, "successful_sessions", must(json_integer(p->successful_sessions)));
    put(o, "failed_sessions", must(json_integer(p->failed_sessions)));
    for (size_t i = 0; p->failures != NULL && i < p->n_failures; i++)
        append(fd, failure_json(&p->failures[i]));
    put(o, "failure_details", fd);
    return o;
}

char *tr_report_to_json(const struct tr_report *r)
{
    json_t *o = must(json_object()), *pols = must(json_array()), *warn = must(json_array());
    char buf[TR_DATETIME_MAX];

    put(o, "organization_name", jstr(r->organization_name));
    put(o, "report_id", jstr(r->report_id));
    put(o, "contact_info", jstr(r->contact_info));
    tr_format_datetime(r->start, buf, sizeof buf);
    put(o, "start", jstr(buf));
    tr_format_datetime(r->end, buf, sizeof buf);
    put(o, "end", jstr(buf));
    for (size_t i = 0; r->policies != NULL && i < r->n_policies; i++)
        append(pols, policy_json(&r->policies[i]));
    put(o, "policies", pols);
    for (int i = 0; i < TR_W_COUNT; i++)
        if (r->warnings & (1u << i))
            append(warn, jstr(tr_warning_name(i)));
    for (size_t i = 0; i < r->n_named_warnings; i++)
        append(warn, jstr(r->named_warnings[i]));
    put(o, "warnings", warn);
    return dump(o);
}

/*
 * Appends s to b as a JSON string, escaped exactly as jansson's compact dump
 * escapes it (so stored rows do not depend on which wrote them): '"', '\\'
 * and control characters (\b \f \n \r \t, else \u00XX), UTF-8 kept.  A
 * string that is not valid UTF-8 has its non-ASCII bytes replaced by '?',
 * as jstr() does.  b must have room for 6 * strlen(s) + 2 more bytes.
 */
static char *put_json_string(char *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    int valid = tr_utf8_valid(s, len);

    *b++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        if (ch >= 0x80 && !valid)
            ch = '?';
        switch (ch) {
        case '"': *b++ = '\\'; *b++ = '"'; break;
        case '\\': *b++ = '\\'; *b++ = '\\'; break;
        case '\b': *b++ = '\\'; *b++ = 'b'; break;
        case '\f': *b++ = '\\'; *b++ = 'f'; break;
        case '\n': *b++ = '\\'; *b++ = 'n'; break;
        case '\r': *b++ = '\\'; *b++ = 'r'; break;
        case '\t': *b++ = '\\'; *b++ = 't'; break;
        default:
            if (ch < 0x20) {
                memcpy(b, "\\u00", 4);
                b[4] = hex[ch >> 4];
                b[5] = hex[ch & 15];
                b += 6;
            } else {
                *b++ = (char)ch;
            }
        }
    }
    *b++ = '"';
    return b;
}

/* Written directly rather than through a jansson tree: the store calls this
 * for every policy, and the tree cost more than the rest of the row. */
char *tr_strings_to_json(char *const *arr, size_t n)
{
    size_t need = 3;            /* "[", "]", NUL */
    char *out, *b;

    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        need += 6 * strlen(arr[i]) + 3;   /* worst case \u00XX per byte, quotes, comma */
    b = out = xmalloc(need);
    *b++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *b++ = ',';
        b = put_json_string(b, arr[i]);
    }
    *b++ = ']';
    *b = '\0';
    return out;
}

char *tr_warnings_to_string(unsigned warnings)
{
    size_t len = 0, o = 0;
    char *s;

    for (int i = 0; i < TR_W_COUNT; i++)
        if (warnings & (1u << i))
            len += strlen(tr_warning_name(i)) + 1;
    s = xmalloc(len + 1);
    for (int i = 0; i < TR_W_COUNT; i++) {
        if (!(warnings & (1u << i)))
            continue;
        size_t k = strlen(tr_warning_name(i));
        if (o > 0)
            s[o++] = ' ';
        memcpy(s + o, tr_warning_name(i), k);
        o += k;
    }
    s[o] = '\0';
    return s;
}

void tr_warn_named(char ***arr, size_t *n, const char *code, const char *arg)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(arg), k = strlen(code), o;
    char *t;

    if (*n >= TR_NAMED_WARNINGS_MAX)
        return;
    if (len > TR_NAMED_WARNING_ARG_MAX)
        len = TR_NAMED_WARNING_ARG_MAX;
    t = xmalloc(k + 1 + 3 * len + 1);
    memcpy(t, code, k);
    t[k] = '=';
    o = k + 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)arg[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
            || strchr("-._[]", ch) != NULL) {
            t[o++] = (char)ch;
        } else {
            t[o++] = '%';
            t[o++] = hex[ch >> 4];
            t[o++] = hex[ch & 15];
        }
    }
    t[o] = '\0';
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = t;
}

char *tr_report_warnings_string(const struct tr_report *r)
{
    char *bits = tr_warnings_to_string(r->warnings), *s;
    size_t len = strlen(bits), o;

    if (r->n_named_warnings == 0)
        return bits;
    for (size_t i = 0; i < r->n_named_warnings; i++)
        len += 1 + strlen(r->named_warnings[i]);
    s = xmalloc(len + 1);
    o = strlen(bits);
    memcpy(s, bits, o);
    for (size_t i = 0; i < r->n_named_warnings; i++) {
        size_t k = strlen(r->named_warnings[i]);
        if (o > 0)
            s[o++] = ' ';
        memcpy(s + o, r->named_warnings[i], k);
        o += k;
    }
    s[o] = '\0';
    free(bits);
    return s;
}
