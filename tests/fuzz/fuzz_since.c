/*
 * fuzz_since.c - the --since/--until/--now date parser of tlsrpt-report
 * (tr_parse_when) and its whole command line (rpt_parse_args).
 *
 * Input: byte 0 flags, bytes 1..8 "now" (kept between 1970 and 9999), the
 * rest a date string up to the first NUL; after that NUL, NUL-separated
 * command-line arguments.  Every string is an exactly sized heap copy, so
 * a read past its end is caught.
 *
 * Invariants: the --until form of a date is the --since form or one day
 * later; "now" is now; a parsed command line has since < until.
 */
#include "fuzz.h"
#include "args.h"
#include "tlsrpt/dates.h"

#include <getopt.h>
#include <string.h>

#define MAX_NOW INT64_C(253402300799)   /* 9999-12-31T23:59:59Z */
#define MAX_ARGV 24

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsetenv("TLSRPT_NOW");
    return 0;
}

/* glibc's getopt keeps a pointer into the last argv; reset it fully so a
 * previous input's freed strings are never looked at again. */
static void reset_getopt(void)
{
    static char prog[] = "x";
    char *dummy[] = { prog, NULL };
    optind = 0;
    opterr = 0;
    (void)getopt(1, dummy, "");
}

static void parse_argv(const uint8_t *p, size_t n)
{
    char *argv[MAX_ARGV + 4];
    int argc = 0;
    struct rpt_opts o;
    struct tr_err err;

    argv[argc++] = fuzz_strndup((const uint8_t *)"tlsrpt-report", 13);
    argv[argc++] = fuzz_strndup((const uint8_t *)"--now", 5);
    argv[argc++] = fuzz_strndup((const uint8_t *)"2026-03-15T12:00:00Z", 20);
    while (n > 0 && argc < MAX_ARGV) {
        const uint8_t *nul = memchr(p, '\0', n);
        size_t len = nul ? (size_t)(nul - p) : n;
        argv[argc++] = fuzz_strndup(p, len);
        p += len + (nul != NULL);
        n -= len + (nul != NULL);
    }
    argv[argc] = NULL;
    reset_getopt();
    tr_err_clear(&err);
    if (rpt_parse_args(argc, argv, &o, &err) == 0) {
        FUZZ_CHECK(o.since < o.until);
        FUZZ_CHECK(o.n_by <= RPT_K__COUNT);
        FUZZ_CHECK(o.n_args <= RPT_MAX_ARGS);
    } else {
        FUZZ_CHECK(err.code != NULL);
    }
    reset_getopt();
    for (int i = 0; i < argc; i++)
        free(argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t raw = 0;
    int64_t now, since = 0, until = 0;
    const uint8_t *rest, *nul;
    size_t n;
    char *s;
    struct tr_err err;
    int rs, ru;

    if (size < 9)
        return 0;
    for (int i = 1; i <= 8; i++)
        raw = raw << 8 | data[i];
    now = (int64_t)(raw % (uint64_t)(MAX_NOW + 1));
    rest = data + 9;
    n = size - 9;
    nul = memchr(rest, '\0', n);
    s = fuzz_strndup(rest, nul ? (size_t)(nul - rest) : n);

    rs = tr_parse_when(s, now, 0, &since, &err);
    ru = tr_parse_when(s, now, 1, &until, &err);
    FUZZ_CHECK(rs == ru);
    if (rs == 0) {
        FUZZ_CHECK(until == since || until == since + 86400);
        if (strcmp(s, "now") == 0)
            FUZZ_CHECK(since == now && until == now);
    }
    free(s);
    if (nul != NULL && (data[0] & 1))
        parse_argv(nul + 1, n - (size_t)(nul + 1 - rest));
    (void)rpt_day_start(now);
    return 0;
}
