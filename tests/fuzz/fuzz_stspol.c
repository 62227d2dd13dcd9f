/*
 * fuzz_stspol.c - the MTA-STS policy parser and mx pattern match of
 * tlsrpt-report (report/stspol.c): policy files fetched by --check and
 * policy strings from reports, both hostile.
 *
 * Input: the policy text, handed over as an exactly sized heap copy.
 *
 * Invariants (stspol.h): mx lines and problems within their caps, every
 * problem with a code and a NUL-terminated text; a usable policy (0) has
 * version STSv1, mode enforce/testing/none, max_age 0..STSPOL_MAX_AGE_MAX,
 * an mx line unless mode none, and valid mx patterns; every valid pattern
 * matches the host names it stands for (itself, with a trailing dot, in
 * upper case; "*.rest" one label more than rest, not rest itself).
 */
#include "fuzz.h"
#include "stspol.h"

#include <ctype.h>
#include <string.h>

static void check_pattern(const char *pat)
{
    size_t n = strlen(pat);
    char *host = malloc(n + 4), *upper = malloc(n + 1);

    FUZZ_CHECK(host != NULL && upper != NULL);
    for (size_t i = 0; i <= n; i++)
        upper[i] = (char)toupper((unsigned char)pat[i]);
    if (n > 2 && pat[0] == '*' && pat[1] == '.') {
        memcpy(host, "mx.", 3);
        memcpy(host + 3, pat + 2, n - 1);
        FUZZ_CHECK(stspol_mx_match(pat, host));
        FUZZ_CHECK(stspol_mx_match(upper, host));
        FUZZ_CHECK(!stspol_mx_match(pat, pat + 2));
    } else {
        memcpy(host, pat, n + 1);
        FUZZ_CHECK(stspol_mx_match(pat, host));
        FUZZ_CHECK(stspol_mx_match(upper, host));
        if (host[n - 1] != '.') {
            host[n] = '.';
            host[n + 1] = '\0';
            FUZZ_CHECK(stspol_mx_match(pat, host));
        }
    }
    free(host);
    free(upper);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    struct stspol p;
    int rc = stspol_parse(text, size, &p);

    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK(p.n_mx <= STSPOL_MX_MAX);
    FUZZ_CHECK(p.n_problems <= STSPOL_PROBLEMS_MAX);
    for (size_t i = 0; i < p.n_problems; i++) {
        FUZZ_CHECK(p.problems[i].code != NULL);
        FUZZ_CHECK(memchr(p.problems[i].text, '\0', sizeof p.problems[i].text) != NULL);
        FUZZ_CHECK(rc == -1 || !p.problems[i].fail);
    }
    FUZZ_CHECK(memchr(p.version, '\0', sizeof p.version) != NULL);
    FUZZ_CHECK(memchr(p.mode, '\0', sizeof p.mode) != NULL);
    if (rc == 0) {
        FUZZ_CHECK(strcmp(p.version, "STSv1") == 0);
        FUZZ_CHECK(strcmp(p.mode, "enforce") == 0 || strcmp(p.mode, "testing") == 0 || strcmp(p.mode, "none") == 0);
        FUZZ_CHECK(p.max_age >= 0 && p.max_age <= STSPOL_MAX_AGE_MAX);
        FUZZ_CHECK(p.n_mx > 0 || strcmp(p.mode, "none") == 0);
    }
    for (size_t i = 0; i < p.n_mx; i++) {
        FUZZ_CHECK(p.mx[i] != NULL);
        FUZZ_CHECK(rc == -1 || stspol_pattern_valid(p.mx[i]));
        if (stspol_pattern_valid(p.mx[i]))
            check_pattern(p.mx[i]);
    }
    stspol_free(&p);
    free(text);
    return 0;
}
