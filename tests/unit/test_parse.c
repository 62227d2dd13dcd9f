/*
 * test_parse.c - table-driven tests of tr_parse_report(), tr_parse_datetime()
 * and tr_format_datetime() (ingest/parse.c).
 *
 * Inline cases write JSON with single quotes standing for double quotes
 * (q() converts), so a case reads like the report it models.  A passing case
 * names the exact warning bits and a fragment of the --dump it must yield; a
 * failing case names the error code and a fragment of the detail.  Then every
 * JSON file in samples/ and under $TLSRPT_EXTERNAL_SAMPLES (CMake sets it to
 * ../shared/external-samples beside the source tree; skipped when absent)
 * must parse, with spot checks of known values.
 */
#include "check.h"
#include "tlsrpt/codes.h"
#include "tlsrpt/parse.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>


/* Caller-owned copy of s with every ' turned into ". */
static char *q(const char *s)
{
    char *r = xstrdup(s);
    for (char *p = r; *p; p++)
        if (*p == '\'')
            *p = '"';
    return r;
}

#define RANGE(s, e) "'date-range':{'start-datetime':'" s "','end-datetime':'" e "'}"
#define DAY1 RANGE("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")
#define HEAD "'organization-name':'Org','report-id':'r1','contact-info':'c@example.net',"
#define REPORT(pols) "{" HEAD DAY1 ",'policies':[" pols "]}"
#define REPORT_R(range, pols) "{" HEAD range ",'policies':[" pols "]}"
#define SUMMARY(ok, fail) "'summary':{'total-successful-session-count':" #ok \
                          ",'total-failure-session-count':" #fail "}"
#define POLICY(pol, rest) "{'policy':{" pol "}," rest "}"
#define P_STS "'policy-type':'sts','policy-domain':'example.net'"
#define STS POLICY(P_STS, SUMMARY(5, 0))
#define WITH_DETAILS(sum, details) POLICY(P_STS, sum ",'failure-details':[" details "]")
#define DETAIL(rest) "{'result-type':'certificate-expired','failed-session-count':1" rest "}"

struct lims { size_t depth, policies, failures, strlen; };

struct pcase {
    const char *name;
    const char *json;     /* ' stands for " */
    const char *code;     /* NULL: must parse */
    const char *want;     /* success: in the --dump (' for "); failure: in the detail */
    unsigned warnings;    /* success: exactly these bits */
    struct lims lim;      /* 0 = default */
    const char *hdr, *file;
};

static const struct pcase cases[] = {
    /* ---- shapes that parse ---- */
    { "minimal", REPORT(STS), NULL,
      "{'organization_name':'Org','report_id':'r1','contact_info':'c@example.net',"
      "'start':'2026-11-01T00:00:00Z','end':'2026-11-02T00:00:00Z','policies':[{'policy_type':'sts',"
      "'policy_domain':'example.net','policy_strings':null,'mx_hosts':null,'successful_sessions':5,"
      "'failed_sessions':0,'failure_details':[]}],'warnings':[]}", 0, {0}, NULL, NULL },
    { "any key order, unknown keys ignored and flagged by name",
      "{'policies':[{'summary':{'total-failure-session-count':0,'x':[1,{}],'total-successful-session-count':2},"
      "'policy':{'policy-domain':'example.net','x-new':true,'policy-type':'sts'},'extra':null}],"
      "'report-id':'r1','future':{'a':[1,2]}," DAY1 ",'organization-name':'Org'}", NULL,
      "'successful_sessions':2,'failed_sessions':0", TR_W_UNKNOWN_FIELD, {0}, NULL, NULL },
    { "unknown keys named in the warnings, in document order",
      "{'policies':[{'summary':{'total-failure-session-count':0,'x':[1,{}],'total-successful-session-count':2},"
      "'policy':{'policy-domain':'example.net','x-new':true,'policy-type':'sts'},'extra':null}],"
      "'report-id':'r1','future':{'a':[1,2]}," DAY1 ",'organization-name':'Org'}", NULL,
      "'warnings':['unknown-field','unknown-field=future','unknown-field=policies[0].extra',"
      "'unknown-field=policies[0].policy.x-new','unknown-field=policies[0].summary.x']",
      TR_W_UNKNOWN_FIELD, {0}, NULL, NULL },
    { "unknown keys in date-range and a failure detail",
      REPORT_R("'date-range':{'start-datetime':'2026-11-01T00:00:00Z','end-datetime':'2026-11-02T00:00:00Z',"
               "'tz':'UTC'}", WITH_DETAILS(SUMMARY(5, 1), DETAIL(",'receiving-mx-hostnam':'mx1.example.net'"))),
      NULL, "'unknown-field=date-range.tz','unknown-field=policies[0].failure-details[0].receiving-mx-hostnam']",
      TR_W_UNKNOWN_FIELD, {0}, NULL, NULL },
    { "an unknown key's name is percent-encoded in its warning",
      REPORT(POLICY(P_STS, SUMMARY(5, 0) ",'a b=\\u00e9\\n%':1")), NULL,
      "'unknown-field=policies[0].a%20b%3D%C3%A9%0A%25'", TR_W_UNKNOWN_FIELD, {0}, NULL, NULL },
    { "receiving-mx-host-name (a real reporter's misspelling) is receiving-mx-hostname",
      REPORT(WITH_DETAILS(SUMMARY(5, 1), DETAIL(",'receiving-mx-host-name':'mx1.example.net'"))), NULL,
      "'receiving_mx_hostname':'mx1.example.net'",
      TR_W_MISSPELT_FIELD, {0}, NULL, NULL },
    { "the misspelling is named; the RFC name wins when both are sent",
      REPORT(WITH_DETAILS(SUMMARY(5, 1), DETAIL(",'receiving-mx-host-name':'mx2.example.net',"
                                                "'receiving-mx-hostname':'mx1.example.net'"))), NULL,
      "'receiving_mx_hostname':'mx1.example.net','receiving_mx_helo'",
      TR_W_MISSPELT_FIELD, {0}, NULL, NULL },
    { "the misspelling's warning names its path",
      REPORT(WITH_DETAILS(SUMMARY(5, 1), DETAIL(",'receiving-mx-host-name':'mx1.example.net'"))), NULL,
      "'warnings':['misspelt-field-name','misspelt-field-name=policies[0].failure-details[0].receiving-mx-host-name']",
      TR_W_MISSPELT_FIELD, {0}, NULL, NULL },
    { "utf-8 byte order mark skipped", "\xEF\xBB\xBF  " REPORT(STS), NULL, "'report_id':'r1'", 0, {0}, NULL, NULL },
    { "non-ascii text kept", "{'organization-name':'Pusat \xC3\xA9\xE2\x82\xAC','report-id':'r1'," DAY1
      ",'policies':[" STS "]}", NULL, "'organization_name':'Pusat \xC3\xA9\xE2\x82\xAC'", 0, {0}, NULL, NULL },
    { "control characters kept, escaped in dump",
      "{'organization-name':'a\\u001b[31mb\\r\\n','report-id':'r1'," DAY1 ",'policies':[" STS "]}", NULL,
      "'organization_name':'a\\u001B[31mb\\r\\n'", 0, {0}, NULL, NULL },
    { "contact-info null", "{'organization-name':'O','report-id':'r','contact-info':null," DAY1
      ",'policies':[" STS "]}", NULL, "'contact_info':null", 0, {0}, NULL, NULL },
    { "contact-info empty = absent", "{'organization-name':'O','report-id':'r','contact-info':''," DAY1
      ",'policies':[" STS "]}", NULL, "'contact_info':null", 0, {0}, NULL, NULL },
    { "contact-info absent", "{'organization-name':'O','report-id':'r'," DAY1 ",'policies':[" STS "]}", NULL,
      "'contact_info':null", 0, {0}, NULL, NULL },
    { "count at INT64_MAX", REPORT(POLICY(P_STS, SUMMARY(9223372036854775807, 0))), NULL,
      "'successful_sessions':9223372036854775807", 0, {0}, NULL, NULL },

    /* ---- datetimes and the range ---- */
    { "end 23:59:59Z made exclusive", REPORT_R(RANGE("2026-11-01T00:00:00Z", "2026-11-01T23:59:59Z"), STS),
      NULL, "'start':'2026-11-01T00:00:00Z','end':'2026-11-02T00:00:00Z'", TR_W_END_ADJUSTED, {0}, NULL, NULL },
    { "end 23:59:59.999Z made exclusive",
      REPORT_R(RANGE("2026-11-01T00:00:00.000Z", "2026-11-01T23:59:59.999Z"), STS),
      NULL, "'end':'2026-11-02T00:00:00Z'", TR_W_END_ADJUSTED, {0}, NULL, NULL },
    { "end next midnight kept", REPORT(STS), NULL, "'end':'2026-11-02T00:00:00Z'", 0, {0}, NULL, NULL },
    { "no timezone = UTC", REPORT_R(RANGE("2026-11-01T00:00:00", "2026-11-01T23:59:59"), STS), NULL,
      "'start':'2026-11-01T00:00:00Z','end':'2026-11-02T00:00:00Z'", TR_W_NO_TIMEZONE | TR_W_END_ADJUSTED,
      {0}, NULL, NULL },
    { "lowercase t and z, space separator",
      REPORT_R(RANGE("2026-11-01t00:00:00z", "2026-11-01 23:59:59Z"), STS), NULL,
      "'start':'2026-11-01T00:00:00Z','end':'2026-11-02T00:00:00Z'", TR_W_END_ADJUSTED, {0}, NULL, NULL },
    { "offsets", REPORT_R(RANGE("2026-11-01T01:00:00+01:00", "2026-11-01T18:59:59-05:00"), STS), NULL,
      "'start':'2026-11-01T00:00:00Z','end':'2026-11-02T00:00:00Z'", TR_W_END_ADJUSTED, {0}, NULL, NULL },
    { "seven-day range", REPORT_R(RANGE("2026-11-08T00:00:00Z", "2026-11-14T23:59:59Z"), STS), NULL,
      "'start':'2026-11-08T00:00:00Z','end':'2026-11-15T00:00:00Z'", TR_W_END_ADJUSTED, {0}, NULL, NULL },
    { "leap day", REPORT_R(RANGE("2024-02-29T00:00:00Z", "2024-02-29T23:59:59Z"), STS), NULL,
      "'end':'2024-03-01T00:00:00Z'", TR_W_END_ADJUSTED, {0}, NULL, NULL },
    { "year 9999: stored, end shown as 10000-01-01, flagged",
      REPORT_R(RANGE("9999-12-31T00:00:00Z", "9999-12-31T23:59:59Z"), STS), NULL,
      "'start':'9999-12-31T00:00:00Z','end':'10000-01-01T00:00:00Z'",
      TR_W_END_ADJUSTED | TR_W_DATE_IMPLAUSIBLE, {0}, NULL, NULL },
    { "before 2016: flagged", REPORT_R(RANGE("2015-12-31T00:00:00Z", "2016-01-01T00:00:00Z"), STS), NULL,
      "'start':'2015-12-31T00:00:00Z'", TR_W_DATE_IMPLAUSIBLE, {0}, NULL, NULL },
    { "2016-01-01: plausible", REPORT_R(RANGE("2016-01-01T00:00:00Z", "2016-01-02T00:00:00Z"), STS), NULL,
      "'start':'2016-01-01T00:00:00Z'", 0, {0}, NULL, NULL },
    { "end equals start", REPORT_R(RANGE("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z"), STS),
      TR_E_BAD_RANGE, "date-range: end 2026-11-01T00:00:00Z is not after start", 0, {0}, NULL, NULL },
    { "end before start", REPORT_R(RANGE("2026-11-02T00:00:00Z", "2026-11-01T23:59:59Z"), STS),
      TR_E_BAD_RANGE, "date-range:", 0, {0}, NULL, NULL },
    { "bad month", REPORT_R(RANGE("2026-13-01T00:00:00Z", "2026-11-02T00:00:00Z"), STS), TR_E_BAD_DATE,
      "date-range.start-datetime: '2026-13-01T00:00:00Z' is not an RFC 3339 datetime", 0, {0}, NULL, NULL },
    { "not a leap year", REPORT_R(RANGE("2026-02-29T00:00:00Z", "2026-11-02T00:00:00Z"), STS), TR_E_BAD_DATE,
      "date-range.start-datetime", 0, {0}, NULL, NULL },
    { "date only", REPORT_R(RANGE("2026-11-01T00:00:00Z", "2026-11-02"), STS), TR_E_BAD_DATE,
      "date-range.end-datetime: '2026-11-02'", 0, {0}, NULL, NULL },
    { "year before 1970", REPORT_R(RANGE("1969-12-31T00:00:00Z", "2026-11-02T00:00:00Z"), STS), TR_E_BAD_DATE,
      "year before 1970", 0, {0}, NULL, NULL },
    { "datetime not a string", "{" HEAD "'date-range':{'start-datetime':0,'end-datetime':'2026-11-02T00:00:00Z'},"
      "'policies':[" STS "]}", TR_E_BAD_FIELD, "date-range.start-datetime: expected a string, got an integer",
      0, {0}, NULL, NULL },
    { "date-range not an object", "{" HEAD "'date-range':'2026-11-01','policies':[" STS "]}", TR_E_BAD_FIELD,
      "date-range: expected an object", 0, {0}, NULL, NULL },
    { "date-range missing", "{" HEAD "'policies':[" STS "]}", TR_E_MISSING_FIELD, "date-range: missing",
      0, {0}, NULL, NULL },
    { "start-datetime missing", "{" HEAD "'date-range':{'end-datetime':'2026-11-02T00:00:00Z'},'policies':["
      STS "]}", TR_E_MISSING_FIELD, "date-range.start-datetime: missing", 0, {0}, NULL, NULL },
    { "end-datetime empty", "{" HEAD "'date-range':{'start-datetime':'2026-11-01T00:00:00Z','end-datetime':''},"
      "'policies':[" STS "]}", TR_E_MISSING_FIELD, "date-range.end-datetime: missing", 0, {0}, NULL, NULL },

    /* ---- mx-host and policy-string ---- */
    { "mx-host array", REPORT(POLICY(P_STS ",'mx-host':['mx1.example.net','*.mx.example.net']", SUMMARY(1, 0))),
      NULL, "'mx_hosts':['mx1.example.net','*.mx.example.net']", 0, {0}, NULL, NULL },
    { "mx-host single string", REPORT(POLICY(P_STS ",'mx-host':'mx.example.net'", SUMMARY(1, 0))), NULL,
      "'mx_hosts':['mx.example.net']", TR_W_MX_HOST_STRING, {0}, NULL, NULL },
    { "mx-host empty array = absent", REPORT(POLICY(P_STS ",'mx-host':[]", SUMMARY(1, 0))), NULL,
      "'mx_hosts':null", 0, {0}, NULL, NULL },
    { "mx-host empty string = absent", REPORT(POLICY(P_STS ",'mx-host':''", SUMMARY(1, 0))), NULL,
      "'mx_hosts':null", 0, {0}, NULL, NULL },
    { "mx-host-pattern alias", REPORT(POLICY(P_STS ",'mx-host-pattern':['mx.example.net']", SUMMARY(1, 0))),
      NULL, "'mx_hosts':['mx.example.net']", TR_W_DRAFT_FIELD_NAME, {0}, NULL, NULL },
    { "mx-host wins over mx-host-pattern",
      REPORT(POLICY(P_STS ",'mx-host-pattern':['b'],'mx-host':['a']", SUMMARY(1, 0))), NULL,
      "'mx_hosts':['a']", 0, {0}, NULL, NULL },
    { "mx-host number", REPORT(POLICY(P_STS ",'mx-host':1", SUMMARY(1, 0))), TR_E_BAD_FIELD,
      "policies[0].policy.mx-host: expected an array of strings, got an integer", 0, {0}, NULL, NULL },
    { "mx-host element number", REPORT(POLICY(P_STS ",'mx-host':['a',2]", SUMMARY(1, 0))), TR_E_BAD_FIELD,
      "policies[0].policy.mx-host[1]: expected a string", 0, {0}, NULL, NULL },
    { "policy-string lines in order",
      REPORT(POLICY(P_STS ",'policy-string':['version: STSv1','mode: enforce','','max_age: 86400']",
                    SUMMARY(1, 0))), NULL,
      "'policy_strings':['version: STSv1','mode: enforce','max_age: 86400']", 0, {0}, NULL, NULL },
    /* ---- DNS names in one form (names.h) ---- */
    { "policy-domain: case, trailing dot, blanks",
      REPORT(POLICY("'policy-type':'sts','policy-domain':' Example.NET. '", SUMMARY(1, 0))), NULL,
      "'policy_domain':'example.net'", 0, {0}, NULL, NULL },
    { "policy-domain: U-label to A-label",
      REPORT(POLICY("'policy-type':'sts','policy-domain':'B\xC3\x9C" "CHER.example'", SUMMARY(1, 0))), NULL,
      "'policy_domain':'xn--bcher-kva.example'", 0, {0}, NULL, NULL },
    { "policy-domain: A-label lower-cased",
      REPORT(POLICY("'policy-type':'sts','policy-domain':'XN--BCHER-KVA.example'", SUMMARY(1, 0))), NULL,
      "'policy_domain':'xn--bcher-kva.example'", 0, {0}, NULL, NULL },
    { "policy-domain: invalid kept as sent, flagged",
      REPORT(POLICY("'policy-type':'sts','policy-domain':'Ex ample..net'", SUMMARY(1, 0))), NULL,
      "'policy_domain':'Ex ample..net'", TR_W_NAME_INVALID, {0}, NULL, NULL },
    { "policy-domain: bad punycode kept as sent, flagged",
      REPORT(POLICY("'policy-type':'sts','policy-domain':'xn--zz.example'", SUMMARY(1, 0))), NULL,
      "'policy_domain':'xn--zz.example'", TR_W_NAME_INVALID, {0}, NULL, NULL },
    { "policy-domain: blanks only = from the hints",
      REPORT(POLICY("'policy-type':'sts','policy-domain':'  '", SUMMARY(1, 0))), NULL,
      "'policy_domain':'example.org'", TR_W_DOMAIN_FROM_HEADER, {0}, " Example.ORG. ", NULL },
    { "mx-host patterns keep the wildcard",
      REPORT(POLICY(P_STS ",'mx-host':['*.Example.NET.','MX1.example.net ']", SUMMARY(1, 0))), NULL,
      "'mx_hosts':['*.example.net','mx1.example.net']", 0, {0}, NULL, NULL },
    { "receiving MX and HELO names normalized",
      REPORT(WITH_DETAILS(SUMMARY(0, 1), DETAIL(",'receiving-mx-hostname':'MX1.Example.NET.',"
                                                "'receiving-mx-helo':'Mx1.example.net'"))), NULL,
      "'receiving_mx_hostname':'mx1.example.net','receiving_mx_helo':'mx1.example.net'", 0, {0}, NULL, NULL },
    { "receiving MX: address literal kept",
      REPORT(WITH_DETAILS(SUMMARY(0, 1), DETAIL(",'receiving-mx-hostname':'[2001:DB8::1]'"))), NULL,
      "'receiving_mx_hostname':'[2001:db8::1]'", 0, {0}, NULL, NULL },
    { "policy-string: trailing CR removed, mx lines normalized (Google)",
      REPORT(POLICY(P_STS ",'policy-string':['version: STSv1\\r','mode: enforce\\r','mx: *.Example.NET.\\r',"
                    "'MX:MX2.example.net\\r','\\r','max_age: 86400\\r']", SUMMARY(1, 0))), NULL,
      "'policy_strings':['version: STSv1','mode: enforce','mx: *.example.net','mx: mx2.example.net',"
      "'max_age: 86400']", 0, {0}, NULL, NULL },
    { "policy-string: tlsa lines not names",
      REPORT(POLICY("'policy-type':'tlsa','policy-domain':'example.net','policy-string':['3 1 1 AB\\r']",
                    SUMMARY(1, 0))), NULL, "'policy_strings':['3 1 1 AB']", 0, {0}, NULL, NULL },
    { "policy-string empty array = absent", REPORT(POLICY(P_STS ",'policy-string':[]", SUMMARY(1, 0))), NULL,
      "'policy_strings':null", 0, {0}, NULL, NULL },
    { "policy-string null = absent", REPORT(POLICY(P_STS ",'policy-string':null", SUMMARY(1, 0))), NULL,
      "'policy_strings':null", 0, {0}, NULL, NULL },
    { "policy-string single string rejected", REPORT(POLICY(P_STS ",'policy-string':'version: STSv1'",
                                                             SUMMARY(1, 0))), TR_E_BAD_FIELD,
      "policies[0].policy.policy-string: expected an array of strings, got a string", 0, {0}, NULL, NULL },
    { "Microsoft TLSA policy-string expanded",
      REPORT(POLICY("'policy-type':'tlsa','policy-domain':'example.net',"
                    "'policy-string':['[\\'3 1 1 AA\\',\\'3 1 1 BB\\', \\'\\']']", SUMMARY(1, 0))), NULL,
      "'policy_strings':['3 1 1 AA','3 1 1 BB']", TR_W_TLSA_EXPANDED, {0}, NULL, NULL },
    { "plain TLSA records kept",
      REPORT(POLICY("'policy-type':'tlsa','policy-domain':'mx.example.net','policy-string':['3 1 1 AA','3 1 1 BB']",
                    SUMMARY(1, 0))), NULL, "'policy_strings':['3 1 1 AA','3 1 1 BB']", 0, {0}, NULL, NULL },
    { "TLSA element that is not a JSON array of strings kept",
      REPORT(POLICY("'policy-type':'tlsa','policy-domain':'example.net',"
                    "'policy-string':['[not json','[1,2]','[[\\'x\\']]']", SUMMARY(1, 0))), NULL,
      "'policy_strings':['[not json','[1,2]','[[\\'x\\']]']", 0, {0}, NULL, NULL },
    { "JSON-looking sts policy-string not expanded",
      REPORT(POLICY(P_STS ",'policy-string':['[\\'a\\']']", SUMMARY(1, 0))), NULL,
      "'policy_strings':['[\\'a\\']']", 0, {0}, NULL, NULL },
    { "TLSA policy-string element over the string limit",
      REPORT(POLICY("'policy-type':'tlsa','policy-domain':'example.net',"
                    "'policy-string':['[\\'3 1 1 0123456789ABCDEF\\']']", SUMMARY(1, 0))),
      TR_E_LIMIT_STRING_LENGTH,
      "policies[0].policy.policy-string[0]: string of 26 bytes exceeds the string-length limit of 25",
      0, {0, 0, 0, 25}, NULL, NULL },

    /* ---- policy-domain ---- */
    { "policy-domain lower-cased", REPORT(POLICY("'policy-type':'sts','policy-domain':'ExAmple.NET'",
                                                  SUMMARY(1, 0))), NULL, "'policy_domain':'example.net'",
      0, {0}, NULL, NULL },
    { "policy-domain from header", REPORT(POLICY("'policy-type':'no-policy-found'", SUMMARY(1, 0))), NULL,
      "'policy_domain':'example.org'", TR_W_DOMAIN_FROM_HEADER, {0}, " Example.ORG\r\n",
      "s!other.example!1!2.json" },
    { "policy-domain empty, from file name", REPORT(POLICY("'policy-type':'no-policy-found','policy-domain':''",
                                                            SUMMARY(1, 0))), NULL,
      "'policy_domain':'example.org'", TR_W_DOMAIN_FROM_FILENAME, {0}, NULL,
      "/spool/in/postfix.example!Example.org!1793491200!1793577599.json.gz" },
    { "implausible header, file name used", REPORT(POLICY("'policy-type':'no-policy-found'", SUMMARY(1, 0))),
      NULL, "'policy_domain':'example.org'", TR_W_DOMAIN_FROM_FILENAME, {0}, "two words",
      "a!example.org!1!2!id.json" },
    { "file name without domain field", REPORT(POLICY("'policy-type':'no-policy-found'", SUMMARY(1, 0))), NULL,
      "'policy_domain':null", TR_W_DOMAIN_MISSING, {0}, "", "report!example.json" },
    { "no hints: domain missing", REPORT(POLICY("'policy-type':'no-policy-found'", SUMMARY(1, 0))), NULL,
      "'policy_domain':null", TR_W_DOMAIN_MISSING, {0}, NULL, NULL },

    /* ---- policy-type and summary ---- */
    { "unknown policy-type kept", REPORT(POLICY("'policy-type':'dane-ta','policy-domain':'example.net'",
                                                 SUMMARY(1, 0))), NULL, "'policy_type':'dane-ta'",
      TR_W_UNKNOWN_POLICY_TYPE, {0}, NULL, NULL },
    { "policy-type missing", REPORT(POLICY("'policy-domain':'example.net'", SUMMARY(1, 0))), TR_E_MISSING_FIELD,
      "policies[0].policy.policy-type: missing", 0, {0}, NULL, NULL },
    { "policy missing", REPORT(STS ",{" SUMMARY(1, 0) "}"), TR_E_MISSING_FIELD, "policies[1].policy: missing",
      0, {0}, NULL, NULL },
    { "policy not an object", REPORT("{'policy':[]," SUMMARY(1, 0) "}"), TR_E_BAD_FIELD,
      "policies[0].policy: expected an object, got an array", 0, {0}, NULL, NULL },
    { "policies entry not an object", REPORT(STS ",'sts'"), TR_E_BAD_FIELD,
      "policies[1]: expected an object, got a string", 0, {0}, NULL, NULL },
    { "summary not an object", REPORT(POLICY(P_STS, "'summary':[1,2]")), TR_E_BAD_FIELD,
      "policies[0].summary: expected an object", 0, {0}, NULL, NULL },
    { "summary missing", REPORT(POLICY(P_STS, "'x':1")), NULL, "'successful_sessions':0,'failed_sessions':0",
      TR_W_COUNT_MISSING | TR_W_UNKNOWN_FIELD, {0}, NULL, NULL },
    { "successful count missing", REPORT(POLICY(P_STS, "'summary':{'total-failure-session-count':0}")), NULL,
      "'successful_sessions':0", TR_W_COUNT_MISSING, {0}, NULL, NULL },
    { "duplicate key in a failure detail",
      REPORT(WITH_DETAILS(SUMMARY(9, 3), DETAIL(",'failed-session-count':3"))), TR_E_BAD_JSON,
      "duplicate object key", 0, {0}, NULL, NULL },
    { "failure count missing = sum of details",
      REPORT(WITH_DETAILS("'summary':{'total-successful-session-count':9}",
                          "{'result-type':'starttls-not-supported','failed-session-count':3}," DETAIL(""))), NULL,
      "'successful_sessions':9,'failed_sessions':4", TR_W_COUNT_MISSING, {0}, NULL, NULL },
    { "failure count missing, no details = 0",
      REPORT(POLICY(P_STS, "'summary':{'total-successful-session-count':9}")), NULL,
      "'failed_sessions':0,'failure_details':[]", TR_W_COUNT_MISSING, {0}, NULL, NULL },
    { "negative count", REPORT(POLICY(P_STS, SUMMARY(5, -3))), TR_E_BAD_FIELD,
      "policies[0].summary.total-failure-session-count: negative count -3", 0, {0}, NULL, NULL },
    { "fractional count", REPORT(POLICY(P_STS, SUMMARY(1.5, 0))), TR_E_BAD_FIELD,
      "policies[0].summary.total-successful-session-count: expected an integer count, got a real number",
      0, {0}, NULL, NULL },
    { "count as a digit string", REPORT(POLICY(P_STS, SUMMARY('12', 0))), TR_E_BAD_FIELD,
      "total-successful-session-count: expected an integer count, got a string", 0, {0}, NULL, NULL },
    { "count boolean", REPORT(POLICY(P_STS, SUMMARY(true, 0))), TR_E_BAD_FIELD, "got a boolean",
      0, {0}, NULL, NULL },
    { "count 2^63", REPORT(POLICY(P_STS, SUMMARY(9223372036854775808, 0))), TR_E_BAD_FIELD,
      "too big integer", 0, {0}, NULL, NULL },
    { "count null = missing", REPORT(POLICY(P_STS, SUMMARY(null, 0))), NULL, "'successful_sessions':0",
      TR_W_COUNT_MISSING, {0}, NULL, NULL },

    /* ---- failure-details ---- */
    { "failure-details empty", REPORT(WITH_DETAILS(SUMMARY(1, 0), "")), NULL, "'failure_details':[]",
      0, {0}, NULL, NULL },
    { "failure-details null", REPORT(POLICY(P_STS, SUMMARY(1, 0) ",'failure-details':null")), NULL,
      "'failure_details':[]", 0, {0}, NULL, NULL },
    { "failure detail, all fields",
      REPORT(WITH_DETAILS(SUMMARY(1, 2), "{'result-type':'starttls-not-supported','sending-mta-ip':'192.0.2.1',"
                          "'receiving-mx-hostname':'mx.example.net','receiving-mx-helo':'mx ESMTP\\r\\n250 OK',"
                          "'receiving-ip':'203.0.113.1','failed-session-count':2,'additional-information':'https://x',"
                          "'failure-reason-code':'say \\'no\\''}")), NULL,
      "'failure_details':[{'result_type':'starttls-not-supported','sending_mta_ip':'192.0.2.1',"
      "'receiving_mx_hostname':'mx.example.net','receiving_mx_helo':'mx ESMTP\\r\\n250 OK',"
      "'receiving_ip':'203.0.113.1','failed_sessions':2,'additional_information':'https://x',"
      "'failure_reason_code':'say \\'no\\''}]", TR_W_NAME_INVALID, {0}, NULL, NULL },
    { "empty detail strings = absent",
      REPORT(WITH_DETAILS(SUMMARY(0, 1), DETAIL(",'sending-mta-ip':'','receiving-mx-hostname':'','receiving-ip':''"))),
      NULL, "'sending_mta_ip':null,'receiving_mx_hostname':null,'receiving_mx_helo':null,'receiving_ip':null",
      0, {0}, NULL, NULL },
    { "draft failure-error-code", REPORT(WITH_DETAILS(SUMMARY(0, 1), DETAIL(",'failure-error-code':'X509_ERR'"))),
      NULL, "'failure_reason_code':'X509_ERR'", TR_W_DRAFT_FIELD_NAME, {0}, NULL, NULL },
    { "draft additional-info-uri", REPORT(WITH_DETAILS(SUMMARY(0, 1), DETAIL(",'additional-info-uri':'https://i'"))),
      NULL, "'additional_information':'https://i'", TR_W_DRAFT_FIELD_NAME, {0}, NULL, NULL },
    { "RFC name wins over draft name",
      REPORT(WITH_DETAILS(SUMMARY(0, 1), DETAIL(",'failure-error-code':'old','failure-reason-code':'new'"))),
      NULL, "'failure_reason_code':'new'", 0, {0}, NULL, NULL },
    { "unknown result-type kept",
      REPORT(WITH_DETAILS(SUMMARY(0, 1), "{'result-type':'certificate-revoked','failed-session-count':1}")), NULL,
      "'result_type':'certificate-revoked'", TR_W_UNKNOWN_RESULT_TYPE, {0}, NULL, NULL },
    { "result-type missing", REPORT(WITH_DETAILS(SUMMARY(0, 2), DETAIL("") ",{'failed-session-count':1}")),
      TR_E_MISSING_FIELD, "policies[0].failure-details[1].result-type: missing", 0, {0}, NULL, NULL },
    { "failed-session-count missing in detail",
      REPORT(WITH_DETAILS(SUMMARY(0, 0), "{'result-type':'dane-required'}")), NULL, "'failed_sessions':0,",
      TR_W_COUNT_MISSING, {0}, NULL, NULL },
    { "detail counts exceed the total",
      REPORT(WITH_DETAILS(SUMMARY(0, 1), DETAIL("") "," DETAIL(",'failure-reason-code':'b'"))), NULL,
      "'failed_sessions':1,'failure_details':[{", TR_W_FAILURES_EXCEED, {0}, NULL, NULL },
    { "detail count negative",
      REPORT(WITH_DETAILS(SUMMARY(0, 1), "{'result-type':'tlsa-invalid','failed-session-count':-1}")),
      TR_E_BAD_FIELD, "policies[0].failure-details[0].failed-session-count: negative count -1", 0, {0}, NULL, NULL },
    { "detail counts overflow",
      REPORT(WITH_DETAILS(SUMMARY(0, 1), "{'result-type':'tlsa-invalid','failed-session-count':9223372036854775807},"
                          "{'result-type':'tlsa-invalid','failed-session-count':1}")),
      TR_E_BAD_FIELD, "policies[0].failure-details: failed-session-count sum overflows", 0, {0}, NULL, NULL },
    { "failure-details not an array", REPORT(POLICY(P_STS, SUMMARY(1, 0) ",'failure-details':{}")),
      TR_E_BAD_FIELD, "policies[0].failure-details: expected an array, got an object", 0, {0}, NULL, NULL },
    { "failure detail not an object", REPORT(WITH_DETAILS(SUMMARY(0, 1), "7")), TR_E_BAD_FIELD,
      "policies[0].failure-details[0]: expected an object, got an integer", 0, {0}, NULL, NULL },

    /* ---- required top-level fields ---- */
    { "organization-name missing", "{'report-id':'r'," DAY1 ",'policies':[" STS "]}", TR_E_MISSING_FIELD,
      "organization-name: missing", 0, {0}, NULL, NULL },
    { "organization-name empty", "{'organization-name':'','report-id':'r'," DAY1 ",'policies':[" STS "]}",
      TR_E_MISSING_FIELD, "organization-name: missing", 0, {0}, NULL, NULL },
    { "organization-name not a string", "{'organization-name':{},'report-id':'r'," DAY1 ",'policies':[" STS "]}",
      TR_E_BAD_FIELD, "organization-name: expected a string, got an object", 0, {0}, NULL, NULL },
    { "report-id missing", "{'organization-name':'O'," DAY1 ",'policies':[" STS "]}", TR_E_MISSING_FIELD,
      "report-id: missing", 0, {0}, NULL, NULL },
    { "report-id null", "{'organization-name':'O','report-id':null," DAY1 ",'policies':[" STS "]}",
      TR_E_MISSING_FIELD, "report-id: missing", 0, {0}, NULL, NULL },
    { "policies missing", "{" HEAD DAY1 "}", TR_E_MISSING_FIELD, "policies: missing", 0, {0}, NULL, NULL },
    { "policies empty", REPORT(""), TR_E_MISSING_FIELD, "policies: empty array", 0, {0}, NULL, NULL },
    { "policies not an array", "{" HEAD DAY1 ",'policies':" STS "}", TR_E_BAD_FIELD,
      "policies: expected an array, got an object", 0, {0}, NULL, NULL },

    /* ---- not a report, bad JSON, bad text ---- */
    { "empty input", "", TR_E_NOT_A_REPORT, "empty input", 0, {0}, NULL, NULL },
    { "whitespace only", " \r\n\t ", TR_E_NOT_A_REPORT, "empty input", 0, {0}, NULL, NULL },
    { "plain text", "Hello, please buy", TR_E_NOT_A_REPORT, "not a JSON object", 0, {0}, NULL, NULL },
    { "JSON string", "'{}'", TR_E_NOT_A_REPORT, "not a JSON object", 0, {0}, NULL, NULL },
    { "JSON number", "42", TR_E_NOT_A_REPORT, "not a JSON object", 0, {0}, NULL, NULL },
    { "JSON array", "[" REPORT(STS) "]", TR_E_NOT_A_REPORT, "array", 0, {0}, NULL, NULL },
    { "empty object", "{}", TR_E_NOT_A_REPORT, "none of organization-name", 0, {0}, NULL, NULL },
    { "unrelated object", "{'feedback':{'report_metadata':{}}}", TR_E_NOT_A_REPORT, "none of", 0, {0}, NULL, NULL },
    { "truncated", "{'organization-name':'O','report-id':'r','policies':[", TR_E_BAD_JSON, "line 1 column",
      0, {0}, NULL, NULL },
    { "trailing garbage", REPORT(STS) " x", TR_E_BAD_JSON, "end of file expected", 0, {0}, NULL, NULL },
    { "trailing comma", "{'organization-name':'O',}", TR_E_BAD_JSON, "line 1", 0, {0}, NULL, NULL },
    { "duplicate key", "{'organization-name':'O','organization-name':'P'}", TR_E_BAD_JSON,
      "duplicate object key", 0, {0}, NULL, NULL },
    { "raw newline in a string", "{'organization-name':'a\nb'}", TR_E_BAD_JSON, "line 1", 0, {0}, NULL, NULL },
    { "invalid UTF-8 in a string", "{'organization-name':'\xff" "'}", TR_E_INVALID_UTF8, "not valid UTF-8",
      0, {0}, NULL, NULL },
    { "overlong UTF-8", "{'organization-name':'\xC0\xAF'}", TR_E_INVALID_UTF8, "UTF-8", 0, {0}, NULL, NULL },
    { "escaped NUL in a string", "{'organization-name':'a\\u0000b'}", TR_E_INVALID_UTF8, "\\u0000",
      0, {0}, NULL, NULL },
    { "escaped NUL in a key", "{'a\\u0000b':1}", TR_E_INVALID_UTF8, "line 1", 0, {0}, NULL, NULL },
    { "lone surrogate", "{'organization-name':'\\ud800'}", TR_E_INVALID_UTF8, "invalid Unicode",
      0, {0}, NULL, NULL },

    /* ---- limits ---- */
    { "depth within the limit", REPORT(POLICY(P_STS ",'policy-string':['a']", SUMMARY(1, 0))), NULL,
      "'policy_strings':['a']", 0, {5, 0, 0, 0}, NULL, NULL },
    { "depth over the limit", REPORT(POLICY(P_STS ",'policy-string':['a']", SUMMARY(1, 0))),
      TR_E_LIMIT_JSON_DEPTH, "exceeds the json-depth limit of 4", 0, {4, 0, 0, 0}, NULL, NULL },
    { "brackets inside strings do not count",
      "{'organization-name':'[[[[{{{{\\'\\\\[[[[','report-id':'r'," DAY1 ",'policies':[" STS "]}", NULL,
      "'organization_name':'[[[[{{{{\\'\\\\[[[['", 0, {4, 0, 0, 0}, NULL, NULL },
    { "policies at the limit", REPORT(STS "," STS), NULL, "'warnings':[]", 0, {0, 2, 0, 0}, NULL, NULL },
    { "policies over the limit", REPORT(STS "," STS "," STS), TR_E_LIMIT_POLICIES,
      "policies: 3 entries exceed the policies limit of 2", 0, {0, 2, 0, 0}, NULL, NULL },
    { "failure details at the limit (all policies)",
      REPORT(WITH_DETAILS(SUMMARY(0, 2), DETAIL("") "," DETAIL(",'receiving-ip':'x'")) ","
             WITH_DETAILS(SUMMARY(0, 1), DETAIL(""))), NULL, "'warnings':[]", 0, {0, 0, 3, 0}, NULL, NULL },
    { "failure details over the limit (all policies)",
      REPORT(WITH_DETAILS(SUMMARY(0, 2), DETAIL("") "," DETAIL(",'receiving-ip':'x'")) ","
             WITH_DETAILS(SUMMARY(0, 1), DETAIL(""))), TR_E_LIMIT_FAILURES,
      "policies[1].failure-details: more than the failure-details limit of 2", 0, {0, 0, 2, 0}, NULL, NULL },
    /* (the datetimes are 20 bytes, so string limits below 20 reject them) */
    { "string at the limit", "{'organization-name':'ABCDEFGHIJKLMNOPQRSTUVWXY','report-id':'r'," DAY1
      ",'policies':[" STS "]}", NULL, "'organization_name':'ABCDEFGHIJKLMNOPQRSTUVWXY'", 0, {0, 0, 0, 25},
      NULL, NULL },
    { "string over the limit", "{'organization-name':'ABCDEFGHIJKLMNOPQRSTUVWXYZ','report-id':'r'," DAY1
      ",'policies':[" STS "]}", TR_E_LIMIT_STRING_LENGTH,
      "organization-name: string of 26 bytes exceeds the string-length limit of 25", 0, {0, 0, 0, 25}, NULL, NULL },
    { "escaped string measured decoded",
      "{'organization-name':'\\u0041\\u0041\\u0041\\u0041\\u0041ABCDEFGHIJKLMNOPQRST','report-id':'r'," DAY1
      ",'policies':[" STS "]}", NULL, "'organization_name':'AAAAAABCDEFGHIJKLMNOPQRST'", 0, {0, 0, 0, 25},
      NULL, NULL },
};

/* Limits for one case: defaults with the case's non-zero overrides. */
static void case_limits(const struct lims *l, struct tr_limits *lim)
{
    tr_limits_default(lim);
    if (l->depth) lim->json_depth = l->depth;
    if (l->policies) lim->policies = l->policies;
    if (l->failures) lim->failure_details = l->failures;
    if (l->strlen) lim->string_length = l->strlen;
}

/* Runs one table case, reporting failures under its name. */
static void run_case(const struct pcase *c)
{
    char *json = q(c->json), *want = c->code ? xstrdup(c->want) : q(c->want);
    struct tr_parse_hints hints = { c->hdr, c->file };
    struct tr_limits lim;
    static struct tr_report sentinel;
    struct tr_report *r = &sentinel;   /* the parser must reset it to NULL */
    struct tr_err err;
    int rc;

    case_limits(&c->lim, &lim);
    tr_err_clear(&err);
    rc = tr_parse_report((const unsigned char *)json, strlen(json), &hints, &lim, &r, &err);
    if (c->code == NULL) {
        if (rc != 0) {
            check_fail(__FILE__, __LINE__, "%s: unexpected error %s: %s", c->name, err.code, err.detail);
        } else {
            char *dump = tr_report_to_json(r);
            CHECK(r != NULL);
            if (strstr(dump, want) == NULL)
                check_fail(__FILE__, __LINE__, "%s: dump lacks %s\n  got %s", c->name, want, dump);
            else
                check_passed++;
            if (r->warnings != c->warnings) {
                char *g = tr_warnings_to_string(r->warnings), *w = tr_warnings_to_string(c->warnings);
                check_fail(__FILE__, __LINE__, "%s: warnings [%s], want [%s]", c->name, g, w);
                free(g);
                free(w);
            } else {
                check_passed++;
            }
            free(dump);
            tr_report_free(r);
        }
    } else {
        if (rc == 0) {
            check_fail(__FILE__, __LINE__, "%s: parsed, want %s", c->name, c->code);
            tr_report_free(r);
        } else if (err.code == NULL || strcmp(err.code, c->code) != 0 || strstr(err.detail, want) == NULL) {
            check_fail(__FILE__, __LINE__, "%s: got %s: %s\n  want %s: ...%s...", c->name,
                       err.code ? err.code : "(null)", err.detail, c->code, want);
        } else {
            CHECK(r == NULL);
            check_passed++;
        }
    }
    free(json);
    free(want);
}

/* Errors that a table cannot express: NUL bytes, deep nesting, NULL hints. */
static void test_special(void)
{
    static const char nul_json[] = "{\"organization-name\":\"a\0b\"}";
    struct tr_report *r = NULL;
    struct tr_err err;
    struct tr_limits lim;
    size_t depth = 100000, i;
    char *deep = xmalloc(2 * depth + 1), *json;

    tr_limits_default(&lim);
    CHECK(tr_parse_report((const unsigned char *)nul_json, sizeof nul_json - 1, NULL, &lim, &r, &err) == -1);
    CHECK_STR(err.code, TR_E_INVALID_UTF8);
    CHECK(strstr(err.detail, "NUL byte at offset 23") != NULL);
    CHECK(r == NULL);

    /* 100000 levels: rejected by the pre-scan before jansson recurses. */
    for (i = 0; i < depth; i++) {
        deep[i] = '[';
        deep[2 * depth - 1 - i] = ']';
    }
    deep[2 * depth] = '\0';
    CHECK(tr_parse_report((const unsigned char *)deep, 2 * depth, NULL, &lim, &r, &err) == -1);
    CHECK_STR(err.code, TR_E_LIMIT_JSON_DEPTH);
    CHECK(strstr(err.detail, "offset 32 exceeds the json-depth limit of 32") != NULL);
    deep[0] = '{';
    CHECK(tr_parse_report((const unsigned char *)deep, 2 * depth, NULL, &lim, &r, &err) == -1);
    CHECK_STR(err.code, TR_E_LIMIT_JSON_DEPTH);
    free(deep);

    /* The text need not be NUL-terminated; NULL hints and limits are fine. */
    json = q(REPORT(STS) "GARBAGE");
    CHECK(tr_parse_report((const unsigned char *)json, strlen(json) - 7, NULL, NULL, &r, &err) == 0);
    CHECK(r != NULL && r->n_policies == 1 && r->start == 1793491200 && r->end == 1793577600);
    tr_report_free(r);
    free(json);

    /* A hostile organization name survives intact. */
    json = xstrdup("{\"organization-name\":\"<script>alert(1)</script>\\\"Evil\\\" =cmd|' /C calc'!A0\\u001b[31m\","
                   "\"report-id\":\"r\",\"date-range\":{\"start-datetime\":\"2026-11-01T00:00:00Z\","
                   "\"end-datetime\":\"2026-11-01T23:59:59Z\"},\"policies\":[{\"policy\":{\"policy-type\":\"sts\","
                   "\"policy-domain\":\"example.net\"}}]}");
    CHECK(tr_parse_report((const unsigned char *)json, strlen(json), NULL, &lim, &r, &err) == 0);
    if (r != NULL)
        CHECK_STR(r->organization_name, "<script>alert(1)</script>\"Evil\" =cmd|' /C calc'!A0\x1b[31m");
    tr_report_free(r);
    free(json);
}

struct dcase {
    const char *s;
    int ok;
    int64_t t;
    int no_zone;
};

static const struct dcase dcases[] = {
    { "1970-01-01T00:00:00Z", 1, 0, 0 },
    { "2026-11-01T00:00:00Z", 1, 1793491200, 0 },
    { "2026-11-01T00:00:00", 1, 1793491200, 1 },
    { "2026-11-01 00:00:00z", 1, 1793491200, 0 },
    { "2026-11-01t00:00:00.123456789Z", 1, 1793491200, 0 },
    { "2026-11-01T02:30:00+02:30", 1, 1793491200, 0 },
    { "2026-10-31T19:00:00-05:00", 1, 1793491200, 0 },
    { "2026-11-01T00:00:00-00:00", 1, 1793491200, 0 },
    { "2000-02-29T12:34:56Z", 1, 951827696, 0 },
    { "2028-02-29T00:00:00Z", 1, 1835395200, 0 },
    { "9999-12-31T23:59:59Z", 1, 253402300799, 0 },
    { "2016-12-31T23:59:60Z", 1, 1483228800, 0 },
    { "1969-12-31T23:59:59Z", 0, 0, 0 },
    { "1970-01-01T00:30:00+01:00", 0, 0, 0 },
    { "2026-11-01", 0, 0, 0 },
    { "2026-11-01T00:00Z", 0, 0, 0 },
    { "2026-11-01T24:00:00Z", 0, 0, 0 },
    { "2026-11-01T23:60:00Z", 0, 0, 0 },
    { "2026-11-31T00:00:00Z", 0, 0, 0 },
    { "2026-00-01T00:00:00Z", 0, 0, 0 },
    { "2100-02-29T00:00:00Z", 0, 0, 0 },
    { "2026-11-01T00:00:00.Z", 0, 0, 0 },
    { "2026-11-01T00:00:00+0100", 0, 0, 0 },
    { "2026-11-01T00:00:00+24:00", 0, 0, 0 },
    { "2026-11-01T00:00:00Z ", 0, 0, 0 },
    { " 2026-11-01T00:00:00Z", 0, 0, 0 },
    { "2026-11-01T00:00:00UTC", 0, 0, 0 },
    { "26-11-01T00:00:00Z", 0, 0, 0 },
    { "2026/11/01T00:00:00Z", 0, 0, 0 },
    { "+2026-11-01T00:00:00Z", 0, 0, 0 },
    { "", 0, 0, 0 },
};

/* tr_parse_datetime() and tr_format_datetime() on their own. */
static void test_datetime(void)
{
    static const struct { int64_t t; const char *s; } fcases[] = {
        { 0, "1970-01-01T00:00:00Z" },
        { 1793577599, "2026-11-01T23:59:59Z" },
        { 951827696, "2000-02-29T12:34:56Z" },
        { 253402300799, "9999-12-31T23:59:59Z" },
        { -1, "1969-12-31T23:59:59Z" },
    };
    char buf[32];
    struct tr_err err;

    for (size_t i = 0; i < sizeof dcases / sizeof dcases[0]; i++) {
        int64_t t = -42;
        int nz = -1, rc = tr_parse_datetime(dcases[i].s, &t, &nz, &err);
        if (dcases[i].ok) {
            if (rc != 0 || t != dcases[i].t || nz != dcases[i].no_zone)
                check_fail(__FILE__, __LINE__, "'%s': rc %d t %lld no_zone %d", dcases[i].s, rc, (long long)t, nz);
            else
                check_passed++;
        } else if (rc != -1 || strcmp(err.code, TR_E_BAD_DATE) != 0) {
            check_fail(__FILE__, __LINE__, "'%s' accepted (%lld)", dcases[i].s, (long long)t);
        } else {
            check_passed++;
        }
    }
    CHECK(tr_parse_datetime("2026-11-01T00:00:00\x1b[31m", &(int64_t){0}, &(int){0}, &err) == -1);
    CHECK(strstr(err.detail, "'2026-11-01T00:00:00?[31m' is not an RFC 3339 datetime") != NULL);
    for (size_t i = 0; i < sizeof fcases / sizeof fcases[0]; i++) {
        tr_format_datetime(fcases[i].t, buf, sizeof buf);
        CHECK_STR(buf, fcases[i].s);
    }
    tr_format_datetime(0, buf, 11);
    CHECK_STR(buf, "1970-01-01");
    /* The extremes neither overflow nor overrun the buffer. */
    tr_format_datetime(INT64_MAX, buf, sizeof buf);
    CHECK_STR(buf, "292277026596-12-04T15:30:07Z");
    tr_format_datetime(INT64_MIN, buf, 21);
    CHECK_INT(strlen(buf), 20);
    CHECK(tr_parse_datetime(NULL, &(int64_t){0}, &(int){0}, &err) == -1);
}

/* Reads a file, gunzipping *.gz with zlib; caller-owned.  NULL on error. */
static unsigned char *slurp(const char *path, size_t *len)
{
    size_t n = strlen(path);
    unsigned char *data = NULL;
    struct tr_err err;

    if (n > 3 && strcmp(path + n - 3, ".gz") == 0) {
        gzFile gz = gzopen(path, "rb");
        struct tr_buf b;
        unsigned char chunk[65536];
        int k;
        if (gz == NULL)
            return NULL;
        tr_buf_init(&b, (size_t)64 << 20);
        while ((k = gzread(gz, chunk, sizeof chunk)) > 0)
            if (tr_buf_append(&b, chunk, (size_t)k) < 0)
                break;
        gzclose(gz);
        return tr_buf_steal(&b, len);
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    if (tr_read_fd(fd, (size_t)64 << 20, &data, len, &err) < 0)
        data = NULL;
    close(fd);
    return data;
}

/* Parses one file with its base name as the file-name hint.  Returns the
 * report (caller frees) or NULL after recording a failure. */
static struct tr_report *parse_file(const char *path)
{
    struct tr_parse_hints hints = { NULL, path };
    struct tr_limits lim;
    struct tr_report *r = NULL;
    struct tr_err err;
    size_t len;
    unsigned char *data = slurp(path, &len);

    tr_limits_default(&lim);
    if (data == NULL) {
        check_fail(__FILE__, __LINE__, "%s: cannot read", path);
        return NULL;
    }
    if (tr_parse_report(data, len, &hints, &lim, &r, &err) < 0)
        check_fail(__FILE__, __LINE__, "%s: %s: %s", path, err.code, err.detail);
    else
        check_passed++;
    free(data);
    return r;
}

/* 1 when name ends with suffix. */
static int ends_with(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

/* Spot checks on external reports whose values are known. */
static void check_external(const char *path, const struct tr_report *r)
{
    const char *base = tr_basename(path);

    const char *ext = check_external_dir();
    size_t k = ext ? strlen(ext) : 0;

    if (ext != NULL && strncmp(path, ext, k) == 0 && strcmp(path + k, "/parsedmarc/mail.ru.json") == 0) {
        CHECK_STR(r->organization_name, "Mail.ru");
        CHECK_INT(r->end - r->start, 86400);
        CHECK_INT(r->policies[0].failed_sessions, 1);
        CHECK_INT(r->policies[0].n_failures, 2);
        CHECK_STR(r->policies[0].failures[1].failure_reason_code, "bad https response code: 500");
        CHECK_INT(r->warnings, TR_W_FAILURES_EXCEED);
    } else if (strncmp(base, "mox-237_", 8) == 0) {
        CHECK_STR(r->policies[0].policy_type, "tlsa");
        CHECK_INT(r->policies[0].n_policy_strings, 2);
        CHECK(strncmp(r->policies[0].policy_strings[1], "3 1 1 CEC87F", 12) == 0);
        CHECK_INT(r->policies[1].n_policy_strings, 4);
        CHECK(r->warnings & TR_W_TLSA_EXPANDED);
    } else if (strcmp(base, "rpt03.json") == 0) {
        CHECK_INT(r->warnings, TR_W_DOMAIN_MISSING | TR_W_UNKNOWN_POLICY_TYPE | TR_W_COUNT_MISSING
                  | TR_W_END_ADJUSTED);
        CHECK_STR(r->policies[1].policy_type, "invalid-policy-type");
    } else if (strcmp(base, "rpt02.json") == 0) {
        CHECK_INT(r->end - r->start, 7 * 86400);
    } else if (strcmp(base, "sample.json") == 0) {
        CHECK(r->warnings & TR_W_DRAFT_FIELD_NAME);
        CHECK(r->warnings & TR_W_MX_HOST_STRING);
        CHECK_STR(r->policies[0].failures[2].failure_reason_code, "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED");
    } else if (strncmp(base, "sys4-", 5) == 0) {
        CHECK(r->policies[0].policy_domain == NULL);
        CHECK(r->warnings & TR_W_DOMAIN_MISSING);
    } else if (strncmp(base, "mimecast.org!", 13) == 0) {
        CHECK_INT(strlen(r->report_id), 64);
        CHECK_INT(r->policies[0].n_failures, 0);
    } else if (strncmp(base, "cry-inc-dmarc-report-viewer-71", 30) == 0) {
        CHECK(r->contact_info == NULL);
        CHECK_INT(r->warnings, 0);
    } else if (strncmp(base, "parsedmarc-575", 14) == 0) {
        CHECK(r->policies[0].policy_strings == NULL && r->policies[0].mx_hosts == NULL);
    } else if (strcmp(base, "empty_failure_detail_fields.json") == 0) {
        CHECK(r->policies[0].failures[0].sending_mta_ip == NULL);
        CHECK(r->policies[0].failures[0].additional_information == NULL);
    }
}

/* Every *.json and *.json.gz below dir must parse; returns how many. */
static int walk(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char *path;
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        path = xasprintf("%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            n += walk(path);
        } else if (ends_with(e->d_name, ".json") || ends_with(e->d_name, ".json.gz")) {
            struct tr_report *r = parse_file(path);
            if (r != NULL) {
                check_external(path, r);
                free(tr_report_to_json(r));
                tr_report_free(r);
            }
            n++;
        }
        free(path);
    }
    closedir(d);
    return n;
}

static void test_external(void)
{
    const char *ext = check_external_dir();

    if (ext == NULL) {
        printf("skipping external samples: $TLSRPT_EXTERNAL_SAMPLES is not set or missing\n");
        return;
    }
    printf("external samples: %d files\n", walk(ext));
}

/* The project's own samples and the warnings each must raise. */
static void test_samples(void)
{
    static const struct { const char *file; unsigned warnings; } want[] = {
        { "google-sts-certificate-expired.json", TR_W_END_ADJUSTED },
        { "google-no-policy-found-compact.json", TR_W_END_ADJUSTED },
        { "google-fetch-error-empty-fields.json", TR_W_END_ADJUSTED },
        { "microsoft-sts-tlsa-no-timezone.json", TR_W_NO_TIMEZONE | TR_W_TLSA_EXPANDED | TR_W_END_ADJUSTED },
        { "mailru-alphabetical-failures-exceed.json", TR_W_FAILURES_EXCEED },
        { "postfix.example.net!example.org!1793923200!1794009599.json",
          TR_W_DOMAIN_FROM_FILENAME | TR_W_END_ADJUSTED },
        { "stalwart-contact-null-7-days.json", 0 },
        { "mimecast-hex-report-id.json", TR_W_END_ADJUSTED },
        { "draft-failure-error-code.json", TR_W_MX_HOST_STRING | TR_W_DRAFT_FIELD_NAME | TR_W_END_ADJUSTED },
        { "unknown-result-and-policy-type.json",
          TR_W_UNKNOWN_RESULT_TYPE | TR_W_UNKNOWN_POLICY_TYPE | TR_W_END_ADJUSTED },
        { "hostile-organization-name.json", TR_W_END_ADJUSTED | TR_W_NAME_INVALID },
        { "names-mixed-spellings.json", TR_W_END_ADJUSTED },
        { "missing-failure-total.json", TR_W_COUNT_MISSING | TR_W_END_ADJUSTED },
    };
    DIR *d = opendir("samples");
    struct dirent *e;
    int seen = 0;

    if (d == NULL) {
        check_fail(__FILE__, __LINE__, "samples/: cannot open (run from the source tree)");
        return;
    }
    while ((e = readdir(d)) != NULL) {
        size_t i;
        char *path;
        struct tr_report *r;
        if (!ends_with(e->d_name, ".json"))
            continue;
        for (i = 0; i < sizeof want / sizeof want[0]; i++)
            if (strcmp(want[i].file, e->d_name) == 0)
                break;
        if (i == sizeof want / sizeof want[0]) {
            check_fail(__FILE__, __LINE__, "samples/%s: no expectations in test_samples()", e->d_name);
            continue;
        }
        seen++;
        path = xasprintf("samples/%s", e->d_name);
        if ((r = parse_file(path)) != NULL) {
            if (r->warnings != want[i].warnings) {
                char *g = tr_warnings_to_string(r->warnings), *w = tr_warnings_to_string(want[i].warnings);
                check_fail(__FILE__, __LINE__, "%s: warnings [%s], want [%s]", path, g, w);
                free(g);
                free(w);
            } else {
                check_passed++;
            }
            /* Every sample lies in 2026-11-01 .. 2026-11-22. */
            CHECK(r->start >= 1793491200 && r->end <= 1795305600);
            if (strcmp(e->d_name, "microsoft-sts-tlsa-no-timezone.json") == 0)
                CHECK_INT(r->policies[1].n_policy_strings, 2);
            if (strcmp(e->d_name, "missing-failure-total.json") == 0)
                CHECK_INT(r->policies[0].failed_sessions, 4);
            if (strcmp(e->d_name, "stalwart-contact-null-7-days.json") == 0)
                CHECK_INT(r->end - r->start, 7 * 86400);
            tr_report_free(r);
        }
        free(path);
    }
    closedir(d);
    CHECK_INT(seen, (int)(sizeof want / sizeof want[0]));
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    test_special();
    test_datetime();
    test_samples();
    test_external();
    return check_done();
}
