/*
 * test_report.c - tests of report.c: tr_report_to_json() (the --dump form),
 * tr_strings_to_json(), tr_warnings_to_string(), tr_report_n_failures() and
 * tr_report_free() on reports built by hand and by the parser.
 */
#include "check.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/parse.h"
#include "tlsrpt/report.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A caller-owned array of n copies of the given strings. */
static char **strs(size_t n, const char *const *v)
{
    char **a = xcalloc(n, sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = xstrdup(v[i]);
    return a;
}

/* A hand-built report exercising every field, absent values and warnings. */
static struct tr_report *build(void)
{
    static const char *const ps[] = { "version: STSv1", "mode: enforce" };
    static const char *const mx[] = { "mx1.example.net" };
    struct tr_report *r = xcalloc(1, sizeof *r);
    struct tr_policy *p;
    struct tr_failure *f;

    r->organization_name = xstrdup("Org \"q\" \x1b[31m\xC3\xA9");
    r->report_id = xstrdup("id-1");
    r->contact_info = NULL;
    r->start = 1793491200;              /* 2026-11-01T00:00:00Z */
    r->end = 1793577600;
    r->n_policies = 2;
    r->policies = xcalloc(2, sizeof *r->policies);
    p = &r->policies[0];
    p->policy_type = xstrdup("sts");
    p->policy_domain = xstrdup("example.net");
    p->policy_strings = strs(2, ps);
    p->n_policy_strings = 2;
    p->mx_hosts = strs(1, mx);
    p->n_mx_hosts = 1;
    p->successful_sessions = 10;
    p->failed_sessions = 9223372036854775807LL;
    p->n_failures = 1;
    p->failures = f = xcalloc(1, sizeof *f);
    f->result_type = xstrdup("certificate-expired");
    f->sending_mta_ip = xstrdup("192.0.2.1");
    f->receiving_mx_helo = xstrdup("mx ESMTP\r\n250 OK");
    f->failed_sessions = 2;
    f->failure_reason_code = xstrdup("a\\b");
    p = &r->policies[1];
    p->policy_type = xstrdup("no-policy-found");
    r->warnings = TR_W_END_ADJUSTED | TR_W_NO_TIMEZONE | TR_W_DOMAIN_MISSING;
    return r;
}

static void test_to_json(void)
{
    struct tr_report *r = build();
    char *s = tr_report_to_json(r);

    CHECK_STR(s,
        "{\"organization_name\":\"Org \\\"q\\\" \\u001B[31m\xC3\xA9\",\"report_id\":\"id-1\",\"contact_info\":null,"
        "\"start\":\"2026-11-01T00:00:00Z\",\"end\":\"2026-11-02T00:00:00Z\",\"policies\":["
        "{\"policy_type\":\"sts\",\"policy_domain\":\"example.net\","
        "\"policy_strings\":[\"version: STSv1\",\"mode: enforce\"],\"mx_hosts\":[\"mx1.example.net\"],"
        "\"successful_sessions\":10,\"failed_sessions\":9223372036854775807,\"failure_details\":["
        "{\"result_type\":\"certificate-expired\",\"sending_mta_ip\":\"192.0.2.1\",\"receiving_mx_hostname\":null,"
        "\"receiving_mx_helo\":\"mx ESMTP\\r\\n250 OK\",\"receiving_ip\":null,\"failed_sessions\":2,"
        "\"additional_information\":null,\"failure_reason_code\":\"a\\\\b\"}]},"
        "{\"policy_type\":\"no-policy-found\",\"policy_domain\":null,\"policy_strings\":null,\"mx_hosts\":null,"
        "\"successful_sessions\":0,\"failed_sessions\":0,\"failure_details\":[]}],"
        "\"warnings\":[\"no-timezone\",\"policy-domain-missing\",\"end-inclusive-adjusted\"]}");
    CHECK(strchr(s, '\n') == NULL);
    CHECK_INT(tr_report_n_failures(r), 1);
    free(s);

    /* A string that is not UTF-8 (not from the parser) still yields JSON. */
    free(r->report_id);
    r->report_id = xstrdup("bad\xff\xfe");
    s = tr_report_to_json(r);
    CHECK(strstr(s, "\"report_id\":\"bad??\"") != NULL);
    free(s);
    tr_report_free(r);
    tr_report_free(NULL);
    CHECK_INT(tr_report_n_failures(NULL), 0);
}

static void test_strings(void)
{
    static const char *const v[] = { "a\"b", "", "\xC3\xA9\t" };
    char **a = strs(3, v), *s;

    CHECK(tr_strings_to_json(NULL, 0) == NULL);
    s = tr_strings_to_json(a, 0);
    CHECK_STR(s, "[]");
    free(s);
    s = tr_strings_to_json(a, 3);
    CHECK_STR(s, "[\"a\\\"b\",\"\",\"\xC3\xA9\\t\"]");
    free(s);
    for (int i = 0; i < 3; i++)
        free(a[i]);
    free(a);
}

static void test_warnings(void)
{
    char *s;
    unsigned all = (1u << TR_W_COUNT) - 1;

    s = tr_warnings_to_string(0);
    CHECK_STR(s, "");
    free(s);
    s = tr_warnings_to_string(TR_W_END_ADJUSTED | TR_W_NO_TIMEZONE);
    CHECK_STR(s, "no-timezone end-inclusive-adjusted");
    free(s);
    s = tr_warnings_to_string(all);
    CHECK_STR(s, "no-timezone policy-domain-from-header policy-domain-from-filename policy-domain-missing "
                 "mx-host-string tlsa-policy-string-expanded draft-field-name unknown-result-type "
                 "unknown-policy-type failure-count-exceeds-total summary-count-missing end-inclusive-adjusted "
                 "invalid-dns-name date-range-implausible unknown-field misspelt-field-name zip-entry-skipped");
    free(s);
}

/* Parser output round trip: the hostile sample's --dump is one line of
 * valid JSON holding the organization name escaped, not interpreted. */
static void test_hostile_sample(void)
{
    int fd = open("samples/hostile-organization-name.json", O_RDONLY);
    unsigned char *data;
    size_t len;
    struct tr_err err;
    struct tr_limits lim;
    struct tr_report *r = NULL;
    char *s;

    if (fd < 0) {
        check_fail(__FILE__, __LINE__, "samples/hostile-organization-name.json: cannot open");
        return;
    }
    tr_limits_default(&lim);
    CHECK(tr_read_fd(fd, lim.message_size, &data, &len, &err) == 0);
    close(fd);
    CHECK(tr_parse_report(data, len, NULL, &lim, &r, &err) == 0);
    free(data);
    if (r == NULL)
        return;
    s = tr_report_to_json(r);
    CHECK(strstr(s, "\"organization_name\":\"<script>alert(1)</script>\\\"Evil\\\" =cmd|' /C calc'!A0\\u001B[31m\"")
          != NULL);
    CHECK(strchr(s, '\x1b') == NULL && strchr(s, '\r') == NULL && strchr(s, '\n') == NULL);
    CHECK(strstr(s, "\"end\":\"2026-11-20T00:00:00Z\"") != NULL);
    /* its HELO is a whole banner, not a name: kept as sent, flagged */
    CHECK(strstr(s, "\"warnings\":[\"end-inclusive-adjusted\",\"invalid-dns-name\"]}") != NULL);
    CHECK_INT(tr_report_n_failures(r), 1);
    free(s);
    tr_report_free(r);
}

int main(void)
{
    test_to_json();
    test_strings();
    test_warnings();
    test_hostile_sample();
    return check_done();
}
