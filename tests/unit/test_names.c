/*
 * test_names.c - table-driven tests of tr_name_normalize() (ingest/names.c):
 * every rule of names.h, with its input and the expected stored form.
 */
#include "check.h"
#include "tlsrpt/names.h"
#include "tlsrpt/util.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *in;
    unsigned flags;
    const char *want;       /* NULL: absent */
    int invalid;
} cases[] = {
    { "mx1.example.net", TR_NAME_HOST, "mx1.example.net", 0 },
    { "MX1.EXAMPLE.NET", TR_NAME_HOST, "mx1.example.net", 0 },
    { "example.net.", TR_NAME_HOST, "example.net", 0 },
    { "example.net..", TR_NAME_HOST, "example.net..", 1 },         /* one dot only: then an empty label */
    { " \texample.net\r\n", TR_NAME_HOST, "example.net", 0 },
    { "  ", TR_NAME_HOST, NULL, 0 },
    { "", TR_NAME_HOST, NULL, 0 },
    { ".", TR_NAME_HOST, ".", 1 },
    { "B\xC3\x9C" "CHER.example", TR_NAME_HOST, "xn--bcher-kva.example", 0 },
    { "b\xC3\xBC" "cher.example.", TR_NAME_HOST, "xn--bcher-kva.example", 0 },
    { "XN--BCHER-KVA.Example", TR_NAME_HOST, "xn--bcher-kva.example", 0 },
    { "xn--zz.example", TR_NAME_HOST, "xn--zz.example", 1 },        /* bad punycode: as sent */
    { "_mta-sts.example.net", TR_NAME_HOST, "_mta-sts.example.net", 0 },
    { "ex ample.net", TR_NAME_HOST, "ex ample.net", 1 },
    { "Ex\nample.net", TR_NAME_HOST, "Ex\nample.net", 1 },
    { "a..b", TR_NAME_HOST, "a..b", 1 },
    { "*.example.net", TR_NAME_HOST, "*.example.net", 1 },          /* a wildcard is no host */
    { "*.Example.NET.", TR_NAME_PATTERN, "*.example.net", 0 },
    { "*.b\xC3\xBC" "cher.de", TR_NAME_PATTERN, "*.xn--bcher-kva.de", 0 },
    { "a.*.example.net", TR_NAME_PATTERN, "a.*.example.net", 1 },
    { "[192.0.2.1]", TR_NAME_HOST, "[192.0.2.1]", 0 },
    { "2001:DB8::1", TR_NAME_HOST, "2001:db8::1", 0 },
    { "192.0.2.1", TR_NAME_HOST, "192.0.2.1", 0 },
    { "mx1.example.net ESMTP", TR_NAME_HOST, "mx1.example.net ESMTP", 1 },
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net", TR_NAME_HOST,   /* 63 */
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net", 0 },
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net", TR_NAME_HOST,  /* 64 */
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net", 1 },
};

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int invalid = -1;
        char *got = tr_name_normalize(cases[i].in, cases[i].flags, &invalid);
        if ((got == NULL) != (cases[i].want == NULL) || (got && strcmp(got, cases[i].want) != 0)
            || invalid != cases[i].invalid)
            check_fail(__FILE__, __LINE__, "case %zu: got \"%s\" invalid %d, want \"%s\" invalid %d", i,
                       got ? got : "(null)", invalid, cases[i].want ? cases[i].want : "(null)",
                       cases[i].invalid);
        else
            check_passed++;
        free(got);
    }
    {
        /* A name longer than TR_NAME_MAX is invalid and kept as sent. */
        char long_name[TR_NAME_MAX + 8];
        int invalid = 0;
        char *got;
        for (size_t i = 0; i < sizeof long_name - 1; i++)
            long_name[i] = i % 50 == 49 ? '.' : 'a';
        long_name[sizeof long_name - 1] = '\0';
        got = tr_name_normalize(long_name, TR_NAME_HOST, &invalid);
        CHECK_STR(got, long_name);
        CHECK_INT(invalid, 1);
        free(got);
    }
    {
        char *s = xstrdup("MX.Example.NET."), *n = NULL;
        CHECK_INT(tr_name_normalize_in_place(&s, TR_NAME_HOST), 0);
        CHECK_STR(s, "mx.example.net");
        CHECK_INT(tr_name_normalize_in_place(&n, TR_NAME_HOST), 0);
        CHECK(n == NULL);
        free(s);
    }
    return check_done();
}
