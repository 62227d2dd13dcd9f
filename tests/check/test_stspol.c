/*
 * test_stspol.c - the MTA-STS policy parser and mx matching (report/stspol.c)
 * alone: RFC 8461 section 3.2 fields and limits, LF/CRLF, and section 4.1
 * wildcards (exactly one leftmost label).
 */
#include "../check.h"     /* the test harness (report/check.h is another file) */
#include "stspol.h"

#include <stdio.h>
#include <string.h>

static int has(const struct stspol *p, const char *code, int fail)
{
    for (size_t i = 0; i < p->n_problems; i++)
        if (strcmp(p->problems[i].code, code) == 0 && p->problems[i].fail == fail)
            return 1;
    return 0;
}

static int parse(const char *text, struct stspol *p)
{
    return stspol_parse(text, strlen(text), p);
}

int main(void)
{
    struct stspol p;

    CHECK_INT(parse("version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\nmax_age: 604800\n", &p), 0);
    CHECK_STR(p.mode, "enforce");
    CHECK_INT(p.max_age, 604800);
    CHECK_INT(p.n_mx, 2);
    CHECK_INT(p.n_problems, 0);
    stspol_free(&p);

    {
        /* More warnings than the problem list holds (unknown keys) and
         * then no version: still refused, the failure kept (the failures
         * were dropped with the list full, and the policy called usable;
         * fuzz_stspol found it). */
        char text[4096];
        size_t n = 0;
        for (int i = 0; i < STSPOL_PROBLEMS_MAX + 5; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "x%d: y\n", i);
        snprintf(text + n, sizeof text - n, "mode: enforce\nmx: a.example\nmax_age: 86400\n");
        CHECK_INT(parse(text, &p), -1);
        CHECK_INT(p.n_problems, STSPOL_PROBLEMS_MAX);
        CHECK(has(&p, "policy-version", 1));
        stspol_free(&p);
    }

    CHECK_INT(parse("version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n", &p), 0);
    CHECK(p.crlf && !p.lf);
    stspol_free(&p);

    CHECK_INT(parse("version: STSv1\nmode: tesing\nmx: a.example\nmax_age: 86400\n", &p), -1);
    CHECK(has(&p, "policy-mode", 1));
    stspol_free(&p);

    CHECK_INT(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", &p), -1);
    CHECK(has(&p, "policy-max-age", 1));
    stspol_free(&p);
    CHECK_INT(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n", &p), 0);
    stspol_free(&p);
    CHECK_INT(parse("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n", &p), -1);
    stspol_free(&p);

    CHECK_INT(parse("version: STSv1\nmode: enforce\nmax_age: 86400\n", &p), -1);   /* no mx */
    CHECK(has(&p, "policy-mx-syntax", 1));
    stspol_free(&p);
    CHECK_INT(parse("version: STSv1\nmode: none\nmax_age: 86400\n", &p), 0);       /* none needs none */
    stspol_free(&p);

    CHECK_INT(parse("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\nfoo: bar\n", &p), -1);
    CHECK(has(&p, "policy-version", 1));
    CHECK(has(&p, "policy-unknown-key", 0));
    stspol_free(&p);
    CHECK_INT(parse("version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n", &p), -1);
    CHECK(has(&p, "policy-syntax", 1));
    stspol_free(&p);
    CHECK_INT(parse("version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n", &p), -1);
    CHECK(has(&p, "policy-mx-syntax", 1));
    stspol_free(&p);

    CHECK(stspol_pattern_valid("mx.example.com"));
    CHECK(stspol_pattern_valid("*.example.com"));
    CHECK(!stspol_pattern_valid("mx*.example.com"));
    CHECK(!stspol_pattern_valid("*.*.example.com"));
    CHECK(!stspol_pattern_valid(""));
    CHECK(!stspol_pattern_valid("-a.example"));

    CHECK(stspol_mx_match("mx.example.com", "MX.Example.com."));
    CHECK(stspol_mx_match("*.example.com", "mx1.example.com"));
    CHECK(!stspol_mx_match("*.example.com", "a.b.example.com"));
    CHECK(!stspol_mx_match("*.example.com", "example.com"));
    CHECK(!stspol_mx_match("*.example.com", "mx1.example.com.evil"));
    CHECK(!stspol_mx_match("mx.example.com", "mx.example.co"));
    return check_done();
}
