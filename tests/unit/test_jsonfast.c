/*
 * test_jsonfast.c - the fast JSON reader (jsonfast.h) against jansson.
 *
 * The promise under test: whatever tr_json_fast_load accepts, json_loadb
 * (JSON_REJECT_DUPLICATES) accepts too, with the same tree (compared as
 * jansson serializes both in key order, so types, values and key order
 * all count); whatever it refuses is left to jansson.  Checked on
 * hand-written cases (several of which the fast reader must accept, so
 * the fast path is really taken), on every JSON file in samples/, and on
 * 40,000 seeded mutations of those files and of a report full of escapes
 * (bytes replaced by JSON's structural characters, digits, escapes and
 * control characters, deleted or duplicated), each kept only when it is
 * valid UTF-8 without NUL as parse.c guarantees.
 */
#include "check.h"
#include "tlsrpt/jsonfast.h"
#include "tlsrpt/util.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUTATIONS 40000
#define MAX_SAMPLE ((size_t)1 << 20)

static int accepted_both, refused_both, left_to_jansson;

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}

/* One text: fast accepts => jansson accepts and the trees are equal.
 * Returns 1 when the fast reader accepted it. */
static int compare(const char *text, size_t len, const char *what)
{
    json_error_t jerr;
    json_t *fast = tr_json_fast_load(text, len);
    json_t *ref = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int ok = 1;

    if (fast != NULL && ref == NULL) {
        ok = 0;
        check_fail(__FILE__, __LINE__, "%s: fast reader accepted what jansson refuses (%s): %.*s", what,
                   jerr.text, (int)(len < 200 ? len : 200), text);
    } else if (fast != NULL) {
        char *a = dump(fast), *b = dump(ref);
        if (a == NULL || b == NULL || strcmp(a, b) != 0 || !json_equal(fast, ref)) {
            ok = 0;
            check_fail(__FILE__, __LINE__, "%s: trees differ: fast %.200s, jansson %.200s", what,
                       a ? a : "?", b ? b : "?");
        }
        free(a);
        free(b);
        accepted_both++;
    } else if (ref == NULL) {
        refused_both++;
    } else {
        left_to_jansson++;
    }
    if (ok)
        check_passed++;
    json_decref(fast);
    json_decref(ref);
    return fast != NULL;
}

/* Texts the fast reader must accept (and match jansson on). */
static const char *const accept[] = {
    "{}", "[]", " \t\r\n{ } \n", "[1,-2,0,-0,123456789012345678,-123456789012345678]",
    "{\"a\":true,\"b\":false,\"c\":null,\"d\":\"\",\"e\":[],\"f\":{}}",
    "{\"z\":1,\"a\":2,\"m\":{\"y\":[\"x\",{\"k\":\"v\"}]}}",
    "{\"esc\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}",
    "{\"u\":\"\\u00e9\\u20AC\\uffff\\u0001\",\"pair\":\"\\ud83d\\ude00\"}",
    "{\"k\\u00e9y\":1,\"k\\u00e9y2\":{\"k\\u00e9y\":2}}",
    "{\"utf8\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\",\"\xc3\xa9\":1}",
    "[[[[[[[[[[[[[[[[[[[[\"deep\"]]]]]]]]]]]]]]]]]]]]",
};

/* Texts it must leave to jansson (whatever jansson then says). */
static const char *const refuse[] = {
    "", "1", "\"s\"", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}",
    "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":1}}", "[1.5]", "[1e3]", "[-]", "[01]", "[--1]",
    "[1234567890123456789]", "[\"\\u0000\"]", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
    "[\"\\x\"]", "[\"\\u12\"]", "[\"a\x01\"]", "[\"unterminated]", "[tru]", "[truex]", "[nul]",
    "{} {}", "{}x", "[1 2]", "{\"a\"}", "{1:2}", "[\"a\"\"b\"]",
};

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof accept / sizeof accept[0]; i++) {
        int took = compare(accept[i], strlen(accept[i]), accept[i]);
        if (!took)
            check_fail(__FILE__, __LINE__, "fast reader refused %s", accept[i]);
        else
            check_passed++;
    }
    for (size_t i = 0; i < sizeof refuse / sizeof refuse[0]; i++) {
        int took = compare(refuse[i], strlen(refuse[i]), refuse[i]);
        if (took)
            check_fail(__FILE__, __LINE__, "fast reader accepted %s", refuse[i]);
        else
            check_passed++;
    }
    {
        /* jansson (2.14) skips a NUL byte right after a number ("[5\0]" is
         * [5], fuzz_jsonfast found it); the fast reader refuses every NUL,
         * and parse.c refuses a text with one before either runs. */
        static const char nul_after_number[] = "[5\0]";
        CHECK(tr_json_fast_load(nul_after_number, sizeof nul_after_number - 1) == NULL);
    }
    {
        /* Nesting past jansson's limit is jansson's to refuse. */
        size_t n = 2 * (JSON_PARSER_MAX_DEPTH + 1);
        char *deep = xmalloc(n + 1);
        memset(deep, '[', n / 2);
        memset(deep + n / 2, ']', n / 2);
        deep[n] = '\0';
        CHECK(compare(deep, n, "depth past the limit") == 0);
        deep[n / 2 - 1] = ' ';
        deep[n / 2] = ' ';
        CHECK(compare(deep, n, "depth at the limit") == 1);
        free(deep);
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    if (f == NULL)
        return NULL;
    buf = xmalloc(MAX_SAMPLE);
    *len = fread(buf, 1, MAX_SAMPLE, f);
    fclose(f);
    return buf;
}

static unsigned long long rng = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* One seeded mutation of base into out (capacity 2 * len + 16). */
static size_t mutate(const char *base, size_t len, char *out)
{
    static const char alphabet[] = "{}[]\":,\\ \t\n0123456789-+.eEtrufalsn/bu\x01";
    size_t n = len;
    memcpy(out, base, len);
    for (unsigned k = 0, m = 1 + rnd(3); k < m && n > 0; k++) {
        size_t at = rnd((unsigned)n);
        switch (rnd(4)) {
        case 0: case 1:
            out[at] = alphabet[rnd(sizeof alphabet - 1)];
            break;
        case 2:
            memmove(out + at, out + at + 1, n - at - 1);
            n--;
            break;
        default: {
            size_t span = 1 + rnd(12);
            if (at + span > n)
                span = n - at;
            if (n + span <= 2 * len + 16) {
                memmove(out + at + span, out + at, n - at);
                n += span;
            }
        }
        }
    }
    return n;
}

static void test_samples_and_mutations(void)
{
    static const char escapes[] =
        "{\"organization-name\":\"Esc\\u00e9 \\\"Org\\\"\",\"date-range\":{\"start-datetime\":"
        "\"2026-11-01T00:00:00Z\",\"end-datetime\":\"2026-11-02T00:00:00Z\"},\"contact-info\":"
        "\"a\\/b\\\\c\\n\\ud83d\\ude00\",\"report-id\":\"r-1\",\"policies\":[{\"policy\":{\"policy-type\":"
        "\"sts\",\"policy-string\":[\"version: STSv1\",\"mx: mx.example.net\\r\"],\"policy-domain\":"
        "\"example.net\"},\"summary\":{\"total-successful-session-count\":123,"
        "\"total-failure-session-count\":-4},\"failure-details\":[{\"result-type\":"
        "\"certificate-expired\",\"sending-mta-ip\":\"192.0.2.1\",\"failed-session-count\":7,"
        "\"x\":[true,false,null,0,[],{}]}]}]}";
    char *bases[64];
    size_t lens[64], nb = 0, accepted_samples = 0;
    DIR *d = opendir("samples");
    struct dirent *e;

    bases[nb] = xstrdup(escapes);
    lens[nb++] = strlen(escapes);
    while (d != NULL && (e = readdir(d)) != NULL && nb < 64) {
        char path[512];
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(path, sizeof path, "samples/%s", e->d_name);
        if ((bases[nb] = read_file(path, &lens[nb])) != NULL) {
            if (tr_utf8_valid(bases[nb], lens[nb]))
                accepted_samples += (size_t)compare(bases[nb], lens[nb], path);
            nb++;
        }
    }
    if (d != NULL)
        closedir(d);
    CHECK(nb >= 5);
    CHECK(accepted_samples >= nb - 2);      /* the samples are ordinary reports */
    for (int i = 0; i < MUTATIONS; i++) {
        size_t b = rnd((unsigned)nb), n;
        char *m = xmalloc(2 * lens[b] + 16);
        n = mutate(bases[b], lens[b], m);
        if (memchr(m, '\0', n) == NULL && tr_utf8_valid(m, n))
            compare(m, n, "mutation");
        free(m);
    }
    for (size_t i = 0; i < nb; i++)
        free(bases[i]);
    printf("mutations and samples: %d accepted by both, %d refused by both, %d left to jansson\n",
           accepted_both, refused_both, left_to_jansson);
    CHECK(accepted_both > 100 && refused_both > 100);
}

int main(void)
{
    test_cases();
    test_samples_and_mutations();
    return check_done();
}
